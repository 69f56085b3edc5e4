# The dongle application. On a board this file sits in the filesystem's
# root next to config.json; the modules live in /lib (hanport, dongle).
import dongle.app

dongle.app.main()
