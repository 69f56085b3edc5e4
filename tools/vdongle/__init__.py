# The virtual dongle. tools/vdongle.py is its command line and says what
# each part does; this file makes the folder a package, which `import
# vdongle` finds before the file of the same name.
