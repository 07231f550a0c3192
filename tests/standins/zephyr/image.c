/* Stand-in for Zephyr's kernel image (tests only): main() comes from the app library. */
typedef int mcuq_zephyr_standin_image;
