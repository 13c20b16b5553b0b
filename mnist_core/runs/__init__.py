"""Training in the background: what defines a run (runspec), jobs on this machine, jobs on a Ray
cluster, and lessons (fine-tuning on a learner's corrections). Uses the tutorial's steps; no
Streamlit."""
