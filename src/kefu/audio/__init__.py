"""Audio: the media engine on numpy frames (G.711, prompts, recorder, mixer, tones)."""
