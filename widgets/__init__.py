"""ipywidgets front-ends of labkit (cluster explorer, threshold tuner, clip player, DiVa stepper).

Everything they compute comes from the headless ``labkit`` package; this package only lays out
controls and plots. Import it in JupyterLab; ``labkit`` itself never imports ipywidgets.
"""
