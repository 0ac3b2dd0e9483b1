/*
 * Spawn floor: the least a plugin start can cost. Dynamically linked on
 * purpose (the loader is too), so the figure includes ld.so and libc start-up,
 * not just fork+exec. It signals "ready" by writing one byte on the socket
 * whose number it gets in argv[1], as a plugin's handshake would.
 */
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int fd = atoi(argv[1]);
    char ready = 'r';
    return write(fd, &ready, 1) == 1 ? 0 : 1;
}
