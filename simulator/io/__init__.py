"""Reading and writing mnpool Datasets and the field's file formats.

* :mod:`simulator.io.netcdf` — exact NetCDF/Zarr round trips and atomic writes;
* :mod:`simulator.io.readers` — decompositions from openhdemg, MUedit, DEMUSE, CSV;
* :mod:`simulator.io.exporters` — recordings to openhdemg, MUedit and BIDS-EMG.
"""

from .exporters import (FORMATS, check_formats, check_sampling_rate, export_bids, export_muedit,
                        export_openhdemg, parse_formats, write_recording)
from .netcdf import atomic_path, load_netcdf, load_zarr, save_netcdf, save_zarr
from .readers import (DECOMPOSITION_FORMATS, read_decomposition, read_demuse_mat, read_muedit_mat,
                      read_openhdemg_json, read_spike_csv)

__all__ = ["save_netcdf", "load_netcdf", "save_zarr", "load_zarr", "atomic_path",
           "read_openhdemg_json", "read_muedit_mat", "read_demuse_mat", "read_spike_csv",
           "read_decomposition", "DECOMPOSITION_FORMATS", "FORMATS", "check_sampling_rate",
           "parse_formats", "check_formats", "export_openhdemg", "export_muedit", "export_bids",
           "write_recording"]
