// Stand-in for the Arduino core's Arduino.h (tests only; see ../README.md): the Serial calls
// the generated sketch makes, printing to stdout. arduino_main.cpp plays the core's main().
#ifndef MCUQ_ARDUINO_STANDIN_H
#define MCUQ_ARDUINO_STANDIN_H

class SerialStandIn {
 public:
  void begin(unsigned long baud);
  explicit operator bool() const { return true; }
  void println(const char* text);
};

extern SerialStandIn Serial;

#endif
