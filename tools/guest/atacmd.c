/* atacmd: ATA commands from the guest through SG_IO ATA PASS-THROUGH (16), for the ATA
 * mediator tests. Static, no libraries.
 *
 *   atacmd identify DEV        IDENTIFY DEVICE; prints serial, model and logical sector size
 *   atacmd security-erase DEV  SECURITY ERASE UNIT with an empty password (must be refused)
 *   atacmd cd-write10 DEV      a SCSI WRITE(10) of one 2048-byte block at LBA 16 (a burn attempt);
 *                              prints the sense key and ASC/ASCQ it failed with
 *   atacmd idp-clb IOBASE      port 0's PxCLB read through an AHCI index-data pair (I/O BAR4
 *                              of ICH-style controllers): under thinvisor it must be the
 *                              guest's own value, never the monitor's shadow
 *
 * Exit status: 0 when the device completed the command, 1 when it failed (error printed with
 * the ATA status/error from the sense data), 2 on usage or open errors. */
#include <fcntl.h>
#include <scsi/sg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <unistd.h>

static unsigned char sense[32];

/* protocol: 4 PIO data-in, 5 PIO data-out. */
static int ata16(int fd, unsigned char command, int protocol, int to_device, unsigned char *buf, unsigned len)
{
    unsigned char cdb[16] = {0x85};
    cdb[1] = (unsigned char)(protocol << 1);
    cdb[2] = (unsigned char)(0x20 | (to_device ? 0 : 0x08) | 0x04 | 0x02); /* ck_cond, t_dir, blocks, count */
    cdb[6] = 1;
    cdb[13] = 0x40;
    cdb[14] = command;
    sg_io_hdr_t io;
    memset(&io, 0, sizeof io);
    io.interface_id = 'S';
    io.cmdp = cdb;
    io.cmd_len = sizeof cdb;
    io.dxferp = buf;
    io.dxfer_len = len;
    io.dxfer_direction = to_device ? SG_DXFER_TO_DEV : SG_DXFER_FROM_DEV;
    io.sbp = sense;
    io.mx_sb_len = sizeof sense;
    io.timeout = 30000;
    memset(sense, 0, sizeof sense);
    if (ioctl(fd, SG_IO, &io) < 0) {
        perror("atacmd: SG_IO");
        return -1;
    }
    /* Descriptor sense (72h) with the ATA status return descriptor (09h): error at 3, status at 13. */
    unsigned char err = 0, status = 0;
    if ((sense[0] & 0x7F) == 0x72 && sense[8] == 0x09) {
        err = sense[11];
        status = sense[21];
    } else if ((sense[0] & 0x7F) == 0x70) {
        /* Fixed format (libata's default when the command failed): error at 8, status at 9. */
        err = sense[8];
        status = sense[9];
    }
    if (io.host_status || (io.driver_status & 0x7) || (status & 0x01) || (io.status && !(sense[0] & 0x70))) {
        printf("atacmd: command %#x failed: scsi status %#x host %#x driver %#x ata status %#x error %#x\n",
               command, io.status, io.host_status, io.driver_status, status, err);
        return 1;
    }
    return 0;
}

/* WRITE(10), LBA 16, one block: what a burner would send to a drive with recordable media. */
static int cd_write10(int fd)
{
    unsigned char cdb[10] = {0x2A, 0, 0, 0, 0, 16, 0, 0, 1, 0};
    static unsigned char block[2048];
    memset(block, 0x5A, sizeof block);
    sg_io_hdr_t io;
    memset(&io, 0, sizeof io);
    io.interface_id = 'S';
    io.cmdp = cdb;
    io.cmd_len = sizeof cdb;
    io.dxferp = block;
    io.dxfer_len = sizeof block;
    io.dxfer_direction = SG_DXFER_TO_DEV;
    io.sbp = sense;
    io.mx_sb_len = sizeof sense;
    io.timeout = 30000;
    memset(sense, 0, sizeof sense);
    if (ioctl(fd, SG_IO, &io) < 0) {
        perror("atacmd: SG_IO");
        return 2;
    }
    if (io.status == 0 && io.host_status == 0 && (io.driver_status & 0x7) == 0) {
        printf("atacmd: cd-write10 COMPLETED\n");
        return 0;
    }
    printf("atacmd: cd-write10 refused: scsi status %#x sense key %#x asc %#x ascq %#x\n", io.status,
           sense[2] & 0x0F, sense[12], sense[13]);
    return 1;
}

static void ata_string(const unsigned char *id, int word, int words, char *out)
{
    for (int i = 0; i < words; ++i) {
        out[2 * i] = (char)id[2 * (word + i) + 1];
        out[2 * i + 1] = (char)id[2 * (word + i)];
    }
    out[2 * words] = 0;
    for (int i = 2 * words - 1; i >= 0 && out[i] == ' '; --i) out[i] = 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "idp-clb") == 0) {
        unsigned long base = strtoul(argv[2], NULL, 0);
        if (iopl(3) < 0) {
            perror("atacmd: iopl");
            return 2;
        }
        outl(0x100, (unsigned short)base);     /* index: port 0 PxCLB */
        unsigned lo = inl((unsigned short)(base + 4));
        outl(0x104, (unsigned short)base);     /* PxCLBU */
        unsigned hi = inl((unsigned short)(base + 4));
        printf("atacmd: idp-clb %#llx\n", (unsigned long long)hi << 32 | lo);
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: atacmd identify|security-erase|cd-write10 DEV\n");
        return 2;
    }
    /* A CD drive opened for writing fails with EROFS unless it can write; root may send
     * any SCSI command through a read-only descriptor. */
    int cd = strcmp(argv[1], "cd-write10") == 0;
    int fd = open(argv[2], cd ? O_RDONLY | O_NONBLOCK : O_RDWR);
    if (fd < 0) {
        perror(argv[2]);
        return 2;
    }
    unsigned char buf[512];
    memset(buf, 0, sizeof buf);
    if (strcmp(argv[1], "identify") == 0) {
        int r = ata16(fd, 0xEC, 4, 0, buf, sizeof buf);
        if (r) return 1;
        char serial[41], model[81];
        ata_string(buf, 10, 10, serial);
        ata_string(buf, 27, 20, model);
        unsigned w106 = buf[212] | buf[213] << 8;
        unsigned long lss = 512;
        if ((w106 & 0xC000) == 0x4000 && (w106 & 0x1000))
            lss = 2ul * (buf[234] | buf[235] << 8 | (unsigned long)(buf[236] | buf[237] << 8) << 16);
        printf("atacmd: identify serial='%s' model='%s' sector=%lu\n", serial, model, lss);
        return 0;
    }
    if (strcmp(argv[1], "cd-write10") == 0) return cd_write10(fd);
    if (strcmp(argv[1], "security-erase") == 0) {
        int r = ata16(fd, 0xF4, 5, 1, buf, sizeof buf);
        printf("atacmd: security-erase %s\n", r ? "refused" : "COMPLETED");
        return r ? 1 : 0;
    }
    fprintf(stderr, "atacmd: unknown command %s\n", argv[1]);
    return 2;
}
