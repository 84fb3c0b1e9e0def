import torch
from torch.autograd.functional import jacobian

from flowgmm_ae.models import LatentFlow


def _flow(seed: int = 0) -> LatentFlow:
    torch.manual_seed(seed)
    flow = LatentFlow(channels=2, n_steps=3, hidden_channels=8).double()
    with torch.no_grad():
        flow(torch.randn(16, 2, 2, 2, dtype=torch.float64))  # ActNorm initialisation
        for p in flow.parameters():  # leave the identity start so the test sees real couplings
            p.add_(0.1 * torch.randn_like(p))
    return flow


def test_flow_is_invertible():
    flow = _flow()
    z = torch.randn(5, 2, 2, 2, dtype=torch.float64)
    z_prime, log_det = flow(z)
    back, inverse_log_det = flow.inverse(z_prime)
    torch.testing.assert_close(back, z)
    torch.testing.assert_close(inverse_log_det, -log_det)


def test_log_det_matches_autograd_jacobian():
    flow = _flow(1)
    z = torch.randn(3, 2, 2, 2, dtype=torch.float64)
    _, log_det = flow(z)
    for i in range(len(z)):
        jac = jacobian(lambda v: flow(v.view(1, 2, 2, 2))[0].reshape(-1), z[i].reshape(-1))
        expected = torch.linalg.slogdet(jac)[1]
        torch.testing.assert_close(log_det[i], expected)
