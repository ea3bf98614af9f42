"""Zero/few-shot anomaly classification and segmentation (WinCLIP)."""
