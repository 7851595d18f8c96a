"""AI requests, region handling and engines; torch is imported in diffusion.py only."""
