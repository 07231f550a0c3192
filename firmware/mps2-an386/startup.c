/* Cortex-M4 start-up for QEMU's mps2-an386 machine (and a template for a real board).
 *
 * newlib's rdimon crt0 is not used (-nostartfiles): it takes its stack and heap from the
 * semihosting HEAPINFO call, which QEMU answers with addresses outside this machine's RAM.
 * Instead the reset handler copies .data, zeroes .bss, enables the FPU (CPACR CP10/CP11),
 * opens newlib's semihosting handles (printf, fopen on the host), reads argv with
 * SYS_GET_CMDLINE, and exits through semihosting so QEMU returns main's exit code.
 * Any fault ends in exit status 134, never a hang. */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __etext, __data_start__, __data_end__, __bss_start__, __bss_end__, __StackTop;
extern int main(int argc, char **argv);
extern void initialise_monitor_handles(void);

#define SYS_GET_CMDLINE 0x15
#define MAX_ARGS 15

static int semihost_call(int op, void *arg) {
  register int r0 __asm__("r0") = op;
  register void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static char s_cmdline[512];
static char *s_argv[MAX_ARGS + 1];

static int read_args(void) {
  struct {
    char *buf;
    int len;
  } block = {s_cmdline, (int)sizeof s_cmdline - 1};
  int argc = 0;
  if (semihost_call(SYS_GET_CMDLINE, &block) != 0) return 0;
  char *p = s_cmdline;
  while (*p && argc < MAX_ARGS) {
    while (*p == ' ') *p++ = '\0';
    if (!*p) break;
    s_argv[argc++] = p;
    while (*p && *p != ' ') p++;
  }
  s_argv[argc] = 0;
  return argc;
}

void Reset_Handler(void) {
  uint32_t *src = &__etext;
  uint32_t *dst = &__data_start__;
  while (dst < &__data_end__) *dst++ = *src++;
  for (dst = &__bss_start__; dst < &__bss_end__;) *dst++ = 0;
  *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20);
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  initialise_monitor_handles();
  const int argc = read_args();
  exit(main(argc, s_argv));
}

void Fault_Handler(void) { exit(134); }

__attribute__((section(".isr_vector"), used))
const void *const mcuq_vectors[16] = {
    &__StackTop,           (void *)Reset_Handler, (void *)Fault_Handler, (void *)Fault_Handler,
    (void *)Fault_Handler, (void *)Fault_Handler, (void *)Fault_Handler,
};
