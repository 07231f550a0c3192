// Stand-in for the Arduino core's main() (tests only): setup() once, loop() once.
#include <cstdio>

#include "Arduino.h"

SerialStandIn Serial;

void SerialStandIn::begin(unsigned long baud) { (void)baud; }
void SerialStandIn::println(const char* text) { std::printf("%s\n", text); }

void setup();
void loop();

int main() {
  setup();
  loop();
  return 0;
}
