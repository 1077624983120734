"""Default thresholds, shared by the asset checks and the scorecards so they cannot drift."""

TSTR_MIN_RATIO = 0.90
DCR_MAX_SHARE = 0.55
FIDELITY_MIN_OVERALL = 0.80  # SDMetrics quality score
MIA_MAX_AUC = 0.60  # distance membership-inference attack
CRITIC_MIN_PASS_RATE = 0.10
CRITIC_MIN_CALIBRATION_AUC = 0.80  # good vs corrupted calibration pairs
MIN_DISTINCT_2 = 0.30
MAX_MEAN_NN_ROUGE_L = 0.70
FID_ABS_THRESHOLD = 10.0
FID_BASELINE_MULTIPLIER = 2.0
KID_Z = 3.0
MIN_RECALL_RATIO = 0.80
MIN_CLASS_AGREEMENT = 0.80
