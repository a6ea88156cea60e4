"""Reading and writing mnpool Datasets and the field's file formats.

* :mod:`simulator.io.netcdf` — exact NetCDF/Zarr round trips and atomic writes;
* :mod:`simulator.io.readers` — decompositions from openhdemg, MUedit, DEMUSE, CSV;
* :mod:`simulator.io.exporters` — recordings in several formats at once (:func:`write_recording`);
* :mod:`simulator.io.tools` — openhdemg JSON, MUedit and DEMUSE ``.mat`` writers;
* :mod:`simulator.io.bids` — BIDS-EMG 1.11 datasets.
"""

from .bids import BIDS_VERSION, export_bids
from .exporters import FORMATS, check_formats, check_sampling_rate, parse_formats, write_recording
from .tools import (MIN_DISCHARGES_OPENHDEMG, export_demuse, export_muedit, export_openhdemg,
                    openhdemg_unit_ids)
from .netcdf import (CONVENTIONS, FLOAT32_VARIABLES, atomic_path, load_netcdf, load_zarr,
                     save_netcdf, save_zarr, stored_form)
from .readers import (DECOMPOSITION_FORMATS, read_decomposition, read_demuse_mat, read_muedit_mat,
                      read_openhdemg_json, read_spike_csv)

__all__ = ["save_netcdf", "load_netcdf", "stored_form", "CONVENTIONS", "FLOAT32_VARIABLES",
           "save_zarr", "load_zarr", "atomic_path",
           "read_openhdemg_json", "read_muedit_mat", "read_demuse_mat", "read_spike_csv",
           "read_decomposition", "DECOMPOSITION_FORMATS", "FORMATS", "check_sampling_rate",
           "parse_formats", "check_formats", "export_openhdemg", "export_muedit", "export_demuse",
           "export_bids", "BIDS_VERSION", "openhdemg_unit_ids", "MIN_DISCHARGES_OPENHDEMG",
           "write_recording"]
