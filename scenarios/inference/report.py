"""The file-to-file entry point of site inference (``mnpool infer``): library and observation
files in, posterior, summary and figures out."""

from __future__ import annotations

import os
from pathlib import Path


from scenarios.inference.design import expected_information_gain
from scenarios.inference.figures import plot_information_gain, plot_posterior
from scenarios.inference.observation import load_observation
from scenarios.inference.posterior import infer

__all__ = ["run_inference"]


def run_inference(library_path: str | os.PathLike, observation_path: str | os.PathLike,
                  out_dir: str | os.PathLike, *, pairs: bool = True, seed: int = 0,
                  n_samples: int = 400) -> Path:
    """Infer the site of adaptation from files and write the results (``mnpool infer``).

    Loads the library (NetCDF written by :func:`simulator.io.save_netcdf`) and the observation
    (:func:`load_observation`), runs :func:`infer` and :func:`expected_information_gain`, and
    writes into ``out_dir``: ``posterior.nc`` (the result Dataset plus ``information_gain``),
    ``summary.txt``, ``posterior.png`` and ``information_gain.png``. Every input is checked and
    every result computed before the first file is written; each file is written atomically.

    Parameters
    ----------
    library_path
        NetCDF reference library.
    observation_path
        Observation TOML.
    out_dir
        Output folder (created).
    pairs
        Also score pairs of sites (:func:`infer`).
    seed
        Seed of the information-gain Monte Carlo.
    n_samples
        Monte Carlo draws per candidate measure.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    ConfigError
        On a missing or unreadable library, or any invalid input; nothing is written then.
    """
    from simulator.io import atomic_path, save_netcdf
    from simulator.loading import read_netcdf
    from simulator.plotting import save_figure
    lib_path = Path(library_path)
    library = read_netcdf(lib_path, what="reference library")
    observation = load_observation(observation_path)
    result = infer(library, observation, pairs=pairs)
    eig = expected_information_gain(library, observation, n_samples=n_samples, seed=seed)
    ds = result.to_dataset()
    ds["information_gain"] = eig.rename(measure="candidate")
    ds.attrs["library"] = str(lib_path)
    ds.attrs["seed"] = int(seed)
    text = result.summary()
    text += "\nExpected information gain of one more measure (bits):\n"
    text += "".join(f"  {str(m):<30}{float(v):8.3f} ± {float(se):.3f}\n"
                    for m, v, se in zip(eig.measure.values, eig.values, eig.se_bits.values)) or "  (none)\n"
    fig_post = plot_posterior(result)
    fig_eig = plot_information_gain(eig)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_netcdf(ds, out / "posterior.nc")
    with atomic_path(out / "summary.txt", suffix=".txt") as tmp:
        tmp.write_text(text)
    save_figure(fig_post, out / "posterior.png")
    save_figure(fig_eig, out / "information_gain.png")
    return out
