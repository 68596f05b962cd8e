"""Shared test set-up: keep Jupyter, IPython and OpenVINO from writing into the real home folder."""
import os
import tempfile

_home = tempfile.mkdtemp(prefix="enn-test-home-")
# The browser tests must fail, not skip, when CI lacks chromium: remember whether CI set CI=true
# before we set it ourselves (CI=true is also the switch that silences OpenVINO's telemetry).
os.environ["ENN_STARTED_IN_CI"] = "1" if os.environ.get("CI", "").lower() == "true" else "0"
os.environ.setdefault("CI", "true")
for var, sub in [("JUPYTER_CONFIG_DIR", "jupyter-config"), ("JUPYTER_DATA_DIR", "jupyter-data"),
                 ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"), ("IPYTHONDIR", "ipython"),
                 ("MPLCONFIGDIR", "matplotlib")]:
    os.environ.setdefault(var, os.path.join(_home, sub))
os.environ.setdefault("MPLBACKEND", "Agg")
