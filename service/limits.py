"""What one HTTP request may ask of the service: :class:`ServiceLimits` bounds a campaign spec and a
request, :func:`confine_spec` keeps a spec's data file inside the service's data folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connevo.errors import SpecError
from connevo.evolution.spec import FILE_SUFFIXES, CampaignSpec


@dataclass(frozen=True)
class ServiceLimits:
    """What one client may ask of the service; a request beyond a limit gets a 4xx."""

    max_population: int = 1000
    max_generations: int = 1000
    max_epochs: int = 10_000
    max_workers: int = 64
    max_samples: int = 1_000_000
    """Rows a generated data set (``task.samples``) may have: the request generates them."""
    max_hidden_nodes: int = 1024
    max_connections: int = 1_000_000
    """A spec without ``search_space.max_connections`` gets this one (stored with its spec)."""
    max_body_bytes: int = 1_000_000
    max_concurrent: int = 4
    max_page_size: int = 1000

    def apply(self, spec: CampaignSpec) -> CampaignSpec:
        """``spec`` checked (:meth:`check`), with this service's connection cap where it has none."""
        self.check(spec)
        if spec.search_space.max_connections is None:
            space = spec.search_space.model_copy(update={"max_connections": self.max_connections})
            spec = spec.model_copy(update={"search_space": space})
        return spec

    def check(self, spec: CampaignSpec) -> None:
        """Raise :class:`SpecError` naming the first field of ``spec`` beyond a limit."""
        for field, value, limit in (
            ("search_space.max_hidden_nodes", spec.search_space.max_hidden_nodes, self.max_hidden_nodes),
            ("search_space.max_connections", spec.search_space.max_connections or 0, self.max_connections),
            ("evolution.population", spec.evolution.population, self.max_population),
            ("evolution.generations", spec.evolution.generations, self.max_generations),
            ("training.epochs", spec.training.epochs, self.max_epochs),
            ("workers.count", spec.workers.count, self.max_workers),
            ("task.samples", spec.task.samples or 0, self.max_samples),
        ):
            if value > limit:
                raise SpecError(f"'{field}': {value} is more than this service allows ({limit})")


def confine_spec(spec: CampaignSpec, data_dir: Path) -> CampaignSpec:
    """The spec with its data file resolved inside ``data_dir`` and ``base_dir`` set to it.

    A ``task.dataset`` that names a file (``.csv``, ``.npz``, ``.parquet``) must resolve, after
    following ``..`` and symbolic links, to a path inside ``data_dir``; otherwise
    :class:`SpecError` naming ``task.dataset``; so must ``tracking.tensorboard``, and
    ``tracking.mlflow`` must name a tracking server. Remote specs may not pick a Ray cluster.
    """
    data_dir = data_dir.resolve()
    changes: dict[str, Any] = {"base_dir": str(data_dir)}
    dataset = spec.task.dataset
    if dataset.lower().endswith(FILE_SUFFIXES):
        changes["task.dataset"] = str(inside_data_dir(dataset, data_dir, "task.dataset"))
    if spec.tracking.tensorboard is not None:
        changes["tracking.tensorboard"] = str(inside_data_dir(spec.tracking.tensorboard, data_dir,
                                                              "tracking.tensorboard", what="folder"))
    if spec.tracking.mlflow is not None and not spec.tracking.mlflow.lower().startswith(("http://", "https://")):
        raise SpecError(
            f"'tracking.mlflow': {spec.tracking.mlflow!r} cannot be chosen over HTTP; name a tracking server "
            "(http:// or https://), not a store on the service's disk"
        )
    if spec.workers.ray_address:
        raise SpecError(
            f"'workers.ray_address': {spec.workers.ray_address!r} cannot be chosen over HTTP; "
            "the service decides where campaigns run"
        )
    return spec.with_overrides(**changes)


def inside_data_dir(path: str, data_dir: Path, field: str, what: str = "file") -> Path:
    """``path`` (relative ones from ``data_dir``, as the loader reads them) resolved, after ``..``
    and symbolic links; :class:`SpecError` naming ``field`` when it lies outside ``data_dir``
    (``what``: a file or folder, for the message)."""
    try:
        raw = Path(path).expanduser()
        resolved = (raw if raw.is_absolute() else data_dir / raw).resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise SpecError(f"'{field}': {path!r} is not a usable path ({exc})") from None
    if not resolved.is_relative_to(data_dir.resolve()):
        raise SpecError(f"'{field}': {path!r} lies outside the service's data folder; "
                        f"name a {what} inside it (relative paths are read from there)")
    return resolved


__all__ = ["ServiceLimits", "confine_spec", "inside_data_dir"]
