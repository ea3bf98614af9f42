"""TIA2 text-to-image alignment labels and prompt sets (TextNorm)."""
