"""Live streams, ingest, playback, replays, clips, chat and live counters."""
