# Runs before main.py on every boot. Nothing to do here: the application
# starts in main.py, so a broken config can always be fixed over USB.
