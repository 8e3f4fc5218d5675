"""The pure domain core: events in, commands out, time passed in. No I/O, no asyncio."""
