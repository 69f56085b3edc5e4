# The HAN-port dongle firmware: meter UART -> hanport decoder -> state ->
# HTTP and MQTT. Runs on an ESP32 with stock MicroPython and, through the
# unix platform, on a PC as a virtual dongle.
VERSION = "0.1.0"
