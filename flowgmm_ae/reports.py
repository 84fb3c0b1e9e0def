"""Plain-text reports the command line prints: a run's metrics table and a data set's summary."""

from __future__ import annotations

from flowgmm_ae.data import ImageDataset

METRIC_COLUMNS = ("auc", "auprc", "f1", "acc", "sen", "spe", "threshold")


def format_metrics_table(metrics: dict, split: str = "test") -> str:
    """A plain-text table of one split's metrics for every score, the selected score first."""
    scores = metrics["scores"]
    order = [metrics["score"]] + [name for name in scores if name != metrics["score"]]
    header = f"{'score':<12}" + "".join(f"{c:>10}" for c in METRIC_COLUMNS)
    lines = [header, "-" * len(header)]
    for name in order:
        test = scores[name][split]
        mark = " *" if name == metrics["score"] else ""
        lines.append(f"{name + mark:<12}" + "".join(f"{test[c]:>10.4f}" for c in METRIC_COLUMNS))
    policy = scores[metrics["score"]][split]["threshold_policy"]
    lines.append(f"(* selected score; thresholds chosen on validation, policy: {policy})")
    if metrics.get("subtypes") and metrics.get("target", "test") == split:
        lines.append(f"\n{metrics['score']} AUC per anomaly subtype (each against every normal image):")
        for name, entry in metrics["subtypes"].items():
            seen = {True: " (labels drawn from it)", False: " (unseen)"}.get(entry.get("seen"), "")
            lines.append(
                f"  {name:<12}AUC {entry['auc']:.4f}  AUPRC {entry['auprc']:.4f}  n = {entry['n']}{seen}"
            )
    return "\n".join(lines)


def format_data_info(dataset: ImageDataset, image_size: int) -> str:
    """Counts per split and class (and subtype), groups (patients) per split and shared between
    splits, image sizes found and skipped files."""
    lines = [f"Data set: {dataset.name}", f"Source:   {dataset.source}", ""]
    header = f"{'split':<8}{'normal':>8}{'anomaly':>9}{'total':>8}{'groups':>8}  subtypes"
    lines += [header, "-" * len(header)]
    groups = dataset.group_summary()
    for name in ("train", "val", "test"):
        split = getattr(dataset, name)
        counts = split.counts()
        subtypes = ", ".join(f"{k} {v}" for k, v in split.subtype_counts().items())
        shown = "-" if groups[name] is None else str(groups[name])
        lines.append(
            f"{name:<8}{counts['normal']:>8}{counts['anomaly']:>9}{len(split):>8}{shown:>8}  {subtypes}"
        )
    lines.append("")
    lines.append(f"Grouping: {dataset.grouping}")
    overlap = dataset.group_overlap()
    if overlap:
        lines.append("Groups shared: " + ", ".join(f"{pair} {count}" for pair, count in overlap.items()))
    else:
        lines.append("Groups shared: unknown (no group information)")
    channels = "grey" if dataset.in_channels == 1 else f"{dataset.in_channels} channels"
    if dataset.image_sizes:
        shown = list(dataset.image_sizes.items())
        sizes = ", ".join(f"{size} ({count})" for size, count in shown[:8])
        more = f" and {len(shown) - 8} more sizes" if len(shown) > 8 else ""
        lines.append(f"Image sizes found: {sizes}{more}; read as {channels} at {image_size} px")
    else:
        lines.append(f"Images: {channels}, {dataset.image_size} px")
    lines.append(f"Skipped (unreadable) files: {len(dataset.skipped)}")
    lines += [f"  {item.path}: {item.reason}" for item in dataset.skipped[:20]]
    if len(dataset.skipped) > 20:
        lines.append(f"  ... and {len(dataset.skipped) - 20} more")
    lines += [f"Note: {note}" for note in dataset.notes]
    return "\n".join(lines)
