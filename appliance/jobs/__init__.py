"""The persistent job queue, its runner and the media job handlers."""
