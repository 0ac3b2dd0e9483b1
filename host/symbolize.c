/*
 * symbolize: says which plugin function made a refused syscall. While the
 * call waits in the kernel for the host's answer, the process is frozen in
 * place: its stack pointer comes from /proc/PID/syscall, its mappings from
 * /proc/PID/maps, and the first word on its stack that points into the
 * plugin file's code is taken as the return address into the plugin. The
 * plugin file's own ELF symbol table names it.
 *
 * It reads the plugin's memory and the plugin file as hostile data: every
 * offset is bounds-checked, and a failure only means "unknown".
 */
#include "symbolize.h"
#include "text.h"

#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define STACK_SCAN 16384
#define MAX_ELF (64u << 20)

struct region {
    uint64_t start, end, file_off;
};

/* Executable mappings of the plugin file: in its own mount namespace the
 * child sees it as in_root, otherwise under its host path. */
static size_t plugin_regions(pid_t pid, const char *host_path, const char *in_root,
                             struct region *r, size_t max)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        uint64_t s, e, off;
        char perms[8], file[512] = "";
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %511[^\n]", &s, &e, perms,
                   &off, file) < 4)
            continue;
        if (perms[2] != 'x')
            continue;
        const char *name = file;
        while (*name == ' ')
            name++;
        if (strcmp(name, host_path) != 0 && strcmp(name, in_root) != 0)
            continue;
        r[n++] = (struct region){s, e, off};
    }
    fclose(f);
    return n;
}

static int read_sp(pid_t pid, uint64_t *sp)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char *ok = fgets(buf, sizeof buf, f);
    fclose(f);
    if (!ok)
        return -1;
    /* "nr a1 a2 a3 a4 a5 a6 sp pc" */
    unsigned long long v[9];
    long nr;
    if (sscanf(buf, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &nr, &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) != 9)
        return -1;
    *sp = v[6];
    return 0;
}

/* File offset to link-time address, through the program headers. */
static int off_to_vaddr(const unsigned char *img, size_t size, uint64_t off, uint64_t *vaddr)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
    if (eh->e_phoff > size || eh->e_phnum > 512 ||
        eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > size)
        return -1;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(img + eh->e_phoff);
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && off >= ph[i].p_offset &&
            off < ph[i].p_offset + ph[i].p_filesz) {
            *vaddr = off - ph[i].p_offset + ph[i].p_vaddr;
            return 0;
        }
    }
    return -1;
}

/* Looks vaddr up in .symtab, else .dynsym. */
static int lookup(const unsigned char *img, size_t size, uint64_t vaddr, char *out, size_t outlen)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
    if (eh->e_shoff > size || eh->e_shnum > 4096 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > size)
        return -1;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
    const uint32_t kinds[] = {SHT_SYMTAB, SHT_DYNSYM};
    for (int k = 0; k < 2; k++) {
        for (unsigned i = 0; i < eh->e_shnum; i++) {
            if (sh[i].sh_type != kinds[k] || sh[i].sh_link >= eh->e_shnum ||
                sh[i].sh_offset > size || sh[i].sh_size > size - sh[i].sh_offset)
                continue;
            const Elf64_Shdr *strs = &sh[sh[i].sh_link];
            if (strs->sh_offset > size || strs->sh_size > size - strs->sh_offset)
                continue;
            const Elf64_Sym *sym = (const Elf64_Sym *)(img + sh[i].sh_offset);
            size_t nsym = sh[i].sh_size / sizeof(Elf64_Sym);
            for (size_t j = 0; j < nsym; j++) {
                if (ELF64_ST_TYPE(sym[j].st_info) != STT_FUNC || sym[j].st_value == 0 ||
                    vaddr < sym[j].st_value || vaddr >= sym[j].st_value + sym[j].st_size ||
                    sym[j].st_name >= strs->sh_size)
                    continue;
                const char *name = (const char *)img + strs->sh_offset + sym[j].st_name;
                size_t maxlen = strs->sh_size - sym[j].st_name;
                /* The plugin's author names its functions: escaped here
                 * (text.h) like a path, so the report holds printable
                 * ASCII, valid UTF-8 for JSON whatever the bytes were. */
                char view[256];
                ph_text_escape(name, strnlen(name, maxlen), view, sizeof view, PH_TEXT_EXACT);
                snprintf(out, outlen, "%s+0x%" PRIx64, view, vaddr - sym[j].st_value);
                return 0;
            }
        }
    }
    return -1;
}

/* The plugin file as the host opened it at spawn: the descriptor, never
 * the name, which the directory's writer may have pointed at a FIFO since. */
static unsigned char *load_file(int fd, size_t *size)
{
    struct stat st;
    if (fd < 0)
        return NULL;
    unsigned char *img = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= (off_t)sizeof(Elf64_Ehdr) &&
        (uint64_t)st.st_size <= MAX_ELF && (img = malloc((size_t)st.st_size))) {
        if (pread(fd, img, (size_t)st.st_size, 0) != st.st_size ||
            memcmp(img, ELFMAG, SELFMAG) != 0 || img[EI_CLASS] != ELFCLASS64) {
            free(img);
            img = NULL;
        } else {
            *size = (size_t)st.st_size;
        }
    }
    return img;
}

int ph_sym_caller(pid_t pid, const char *plugin_path, int plugin_fd, const char *in_root,
                  uint64_t pc, char *out, size_t outlen)
{
    struct region r[16];
    size_t nr = plugin_regions(pid, plugin_path, in_root, r, 16);
    if (nr == 0)
        return -1;
    uint64_t hit = 0, hit_off = 0;
    for (size_t i = 0; i < nr && !hit; i++)
        if (pc >= r[i].start && pc < r[i].end) {
            hit = pc;
            hit_off = pc - r[i].start + r[i].file_off;
        }
    uint64_t sp;
    static uint64_t stack[STACK_SCAN / 8];
    if (!hit && read_sp(pid, &sp) == 0) {
        struct iovec local = {stack, sizeof stack}, remote = {(void *)(uintptr_t)sp, sizeof stack};
        ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
        for (ssize_t w = 0; got > 0 && w < got / 8 && !hit; w++)
            for (size_t i = 0; i < nr; i++)
                if (stack[w] >= r[i].start && stack[w] < r[i].end) {
                    /* A return address points just after the call. */
                    hit = stack[w];
                    hit_off = stack[w] - 1 - r[i].start + r[i].file_off;
                    break;
                }
    }
    if (!hit)
        return -1;
    size_t size = 0;
    unsigned char *img = load_file(plugin_fd, &size);
    uint64_t vaddr;
    int rc = -1;
    if (img && off_to_vaddr(img, size, hit_off, &vaddr) == 0)
        rc = lookup(img, size, vaddr, out, outlen);
    if (rc < 0)
        snprintf(out, outlen, "offset 0x%" PRIx64 " in the plugin file", hit_off);
    free(img);
    return 0;
}

int ph_sym_read_string(pid_t pid, uint64_t addr, char *out, size_t outlen)
{
    if (outlen < 2 || addr == 0)
        return -1;
    struct iovec local = {out, outlen - 1}, remote = {(void *)(uintptr_t)addr, outlen - 1};
    ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (got <= 0) {
        /* The string may end just before an unmapped page: read less. */
        local.iov_len = remote.iov_len = 64;
        got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
        if (got <= 0)
            return -1;
    }
    out[got] = '\0';
    return 0;
}
