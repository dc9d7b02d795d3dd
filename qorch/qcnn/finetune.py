"""Hardware-in-the-loop fine-tuning: placeholder removed below."""
