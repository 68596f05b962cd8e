"""Shared test set-up: keep Jupyter, IPython and OpenVINO from writing into the real home folder."""
import os
import tempfile

_home = tempfile.mkdtemp(prefix="enn-test-home-")
os.environ.setdefault("CI", "true")  # also silences OpenVINO telemetry
for var, sub in [("JUPYTER_CONFIG_DIR", "jupyter-config"), ("JUPYTER_DATA_DIR", "jupyter-data"),
                 ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"), ("IPYTHONDIR", "ipython"),
                 ("MPLCONFIGDIR", "matplotlib")]:
    os.environ.setdefault(var, os.path.join(_home, sub))
os.environ.setdefault("MPLBACKEND", "Agg")
