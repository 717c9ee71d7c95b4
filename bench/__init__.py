"""`make bench`: this project's functions beside what users would pick instead (``contenders/``)."""
