"""`streamlit run app.py` in a checkout (and the Space): the app lives in vae_lab/app/; see `vae-lab app`."""
from vae_lab.app.main import run

run()
