"""NNI 1.x's multi-phase package: ``nni.multi_phase.multi_phase_tuner.MultiPhaseTuner``."""
