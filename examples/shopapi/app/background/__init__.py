"""In-process background work: the job runner and periodic housekeeping."""
