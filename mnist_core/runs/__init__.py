"""Training in the background: what defines a run (runspec), jobs on this machine, jobs on a Ray
cluster, lessons (fine-tuning on a learner's corrections), and how the two bundled readers of drawings
are trained by the protocol (bundle). Uses the tutorial's steps; no Streamlit."""
