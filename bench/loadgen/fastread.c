/*
 * The load generator's reader in C: one epoll, one recv per readable socket, frame walk,
 * latency of every chat. `native.py` builds it with the system's C compiler and drives it
 * through ctypes; `wsclient.Reader` is the same reader in Python.
 *
 * Why C: at N = 4,000 a Python round costs the generator 9-11 us per single-frame read, and the
 * generator's core saturated before the server's. This file does the same work per read
 * (recv, walk the headers, find the send time, append the latency) without the interpreter.
 *
 * Counters live in one row per file descriptor (struct row), an array Python maps directly,
 * so Python reads and resets them without a call. Latencies go to per-tally buffers that Python
 * drains after every round. Whatever needs Python (a close frame, a lost connection, a socket
 * that can be written again) is reported in the `notes` array the round returns.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 65536
#define MAX_TALLIES 8
#define SCRATCH_SIZE (1 << 20)
#define MAX_EVENTS 8192

enum { NOTE_WRITABLE = 1, NOTE_CLOSE_FRAME = 2, NOTE_EOF = 3, NOTE_ERROR = 4, NOTE_TOO_BIG = 5 };

/* Mirrored by `Row` in native.py: keep the two in step. */
struct row {
    int64_t chats;
    int64_t frames;
    int64_t heartbeats;
    int64_t others;
    int64_t floods;
    int64_t newest;
    int32_t tally;
    int32_t active;
};

struct note {
    int32_t fd;
    int32_t kind;
    int32_t value; /* close code, or errno */
    int32_t unused;
};

struct tally {
    int64_t since_us;
    int64_t stale;
    int64_t *fresh; /* latencies since Python last drained them */
    int64_t count;
    int64_t capacity;
};

struct partial {
    uint8_t *bytes; /* the start of a frame that has not fully arrived */
    size_t length;
};

struct reader {
    int epfd;
    int64_t reads;
    struct row *rows;
    struct partial *partials;
    struct tally tallies[MAX_TALLIES];
    uint8_t *scratch;
    struct epoll_event events[MAX_EVENTS];
};

static const char MARK[] = "essage\":\"t";
static const char FLOOD_CHAT[] = "\"a\":\"floodChat\"";
static const char RATE_LIMIT[] = "\"a\":\"rateLimit\"";

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct reader *lg_open(void) {
    struct reader *reader = calloc(1, sizeof(struct reader));
    if (reader == NULL) return NULL;
    reader->epfd = epoll_create1(EPOLL_CLOEXEC);
    reader->rows = calloc(MAX_FDS, sizeof(struct row));
    reader->partials = calloc(MAX_FDS, sizeof(struct partial));
    reader->scratch = malloc(SCRATCH_SIZE);
    if (reader->epfd < 0 || !reader->rows || !reader->partials || !reader->scratch) return NULL;
    return reader;
}

void lg_close(struct reader *reader) {
    close(reader->epfd);
    for (int fd = 0; fd < MAX_FDS; fd++) free(reader->partials[fd].bytes);
    for (int i = 0; i < MAX_TALLIES; i++) free(reader->tallies[i].fresh);
    free(reader->partials);
    free(reader->rows);
    free(reader->scratch);
    free(reader);
}

struct row *lg_rows(struct reader *reader) { return reader->rows; }

int64_t lg_reads(struct reader *reader) { return reader->reads; }

int lg_add(struct reader *reader, int fd, int tally, int want_write) {
    if (fd < 0 || fd >= MAX_FDS || tally < 0 || tally >= MAX_TALLIES) return -EINVAL;
    struct epoll_event event = {.events = EPOLLIN | (want_write ? EPOLLOUT : 0), .data.fd = fd};
    if (epoll_ctl(reader->epfd, EPOLL_CTL_ADD, fd, &event) < 0) return -errno;
    reader->rows[fd].tally = tally;
    reader->rows[fd].active = 1;
    reader->partials[fd].length = 0;
    return 0;
}

int lg_want_write(struct reader *reader, int fd, int want_write) {
    struct epoll_event event = {.events = EPOLLIN | (want_write ? EPOLLOUT : 0), .data.fd = fd};
    return epoll_ctl(reader->epfd, EPOLL_CTL_MOD, fd, &event) < 0 ? -errno : 0;
}

void lg_remove(struct reader *reader, int fd) {
    if (fd < 0 || fd >= MAX_FDS) return;
    epoll_ctl(reader->epfd, EPOLL_CTL_DEL, fd, NULL);
    reader->rows[fd].active = 0;
    free(reader->partials[fd].bytes);
    reader->partials[fd].bytes = NULL;
    reader->partials[fd].length = 0;
}

void lg_set_since(struct reader *reader, int tally, int64_t since_us) {
    if (tally >= 0 && tally < MAX_TALLIES) reader->tallies[tally].since_us = since_us;
}

/* Hands Python the latencies gathered since the last call; they stay valid until the next
 * round. Returns how many there are and stores the stale count (then zeroes both). */
int64_t lg_drain(struct reader *reader, int tally, int64_t **latencies, int64_t *stale) {
    struct tally *t = &reader->tallies[tally];
    int64_t count = t->count;
    *latencies = t->fresh;
    *stale = t->stale;
    t->count = 0;
    t->stale = 0;
    return count;
}

static int record(struct tally *t, int64_t latency) {
    if (t->count == t->capacity) {
        int64_t capacity = t->capacity ? t->capacity * 2 : 65536;
        int64_t *grown = realloc(t->fresh, (size_t)capacity * sizeof(int64_t));
        if (grown == NULL) return -1;
        t->fresh = grown;
        t->capacity = capacity;
    }
    t->fresh[t->count++] = latency;
    return 0;
}

static void send_pong(int fd, const uint8_t *payload, size_t length) {
    uint8_t frame[2 + 4 + 125];
    if (length > 125) length = 125;
    frame[0] = 0x8A;
    frame[1] = (uint8_t)(0x80 | length);
    memset(frame + 2, 0, 4); /* the all-zero mask key leaves the payload as it is */
    memcpy(frame + 6, payload, length);
    (void)send(fd, frame, 6 + length, MSG_NOSIGNAL);
}

static int64_t parse_digits(const uint8_t *at, const uint8_t *end) {
    int64_t value = 0;
    while (at < end && *at >= '0' && *at <= '9') value = value * 10 + (*at++ - '0');
    return value;
}

/* Walks every complete frame of data[0:length]; returns how many bytes it consumed, or -1
 * after a close frame (noted for Python). */
static ssize_t walk(struct reader *reader, int fd, const uint8_t *data, size_t length,
                    int64_t now, struct note *note) {
    struct row *row = &reader->rows[fd];
    struct tally *tally = &reader->tallies[row->tally];
    size_t i = 0;

    while (length - i >= 2) {
        uint64_t size = data[i + 1] & 0x7F;
        size_t start = i + 2;
        if (size == 126) {
            if (length - i < 4) break;
            size = ((uint64_t)data[i + 2] << 8) | data[i + 3];
            start = i + 4;
        } else if (size == 127) {
            if (length - i < 10) break;
            size = 0;
            for (int k = 2; k < 10; k++) size = (size << 8) | data[i + k];
            start = i + 10;
        }
        if (size > length - start) break;
        size_t end = start + size;
        int opcode = data[i] & 0x0F;
        row->frames++;

        if (opcode == 1) {
            const uint8_t *mark = memmem(data + start, size, MARK, sizeof(MARK) - 1);
            if (mark != NULL) {
                int64_t sent = parse_digits(mark + sizeof(MARK) - 1, data + end);
                if (sent >= tally->since_us) {
                    record(tally, now - sent);
                    row->chats++;
                } else {
                    tally->stale++;
                }
                if (sent > row->newest) row->newest = sent;
            } else if (size == 1) {
                row->heartbeats++;
            } else {
                row->others++;
                if (memmem(data + start, size, FLOOD_CHAT, sizeof(FLOOD_CHAT) - 1) ||
                    memmem(data + start, size, RATE_LIMIT, sizeof(RATE_LIMIT) - 1))
                    row->floods++;
            }
        } else if (opcode == 8) {
            note->fd = fd;
            note->kind = NOTE_CLOSE_FRAME;
            note->value = size >= 2 ? (data[start] << 8) | data[start + 1] : 1005;
            return -1;
        } else if (opcode == 9) {
            send_pong(fd, data + start, size);
        }
        i = end;
    }
    return (ssize_t)i;
}

/* Reads one socket: what was left of a frame last time, then one recv after it. */
static int read_one(struct reader *reader, int fd, struct note *note) {
    struct partial *partial = &reader->partials[fd];
    uint8_t *scratch = reader->scratch;
    size_t kept = partial->length;

    if (kept >= SCRATCH_SIZE / 2) {
        note->fd = fd;
        note->kind = NOTE_TOO_BIG;
        return 1;
    }
    if (kept) memcpy(scratch, partial->bytes, kept);
    ssize_t got = recv(fd, scratch + kept, SCRATCH_SIZE - kept, 0);
    if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
        note->fd = fd;
        note->kind = NOTE_ERROR;
        note->value = errno;
        return 1;
    }
    if (got == 0) {
        note->fd = fd;
        note->kind = NOTE_EOF;
        return 1;
    }
    reader->reads++;

    size_t length = kept + (size_t)got;
    ssize_t used = walk(reader, fd, scratch, length, now_us(), note);
    if (used < 0) return 1;

    size_t rest = length - (size_t)used;
    if (rest) {
        uint8_t *bytes = realloc(partial->bytes, rest);
        if (bytes == NULL) {
            note->fd = fd;
            note->kind = NOTE_TOO_BIG;
            return 1;
        }
        memcpy(bytes, scratch + used, rest);
        partial->bytes = bytes;
    }
    partial->length = rest;
    return 0;
}

/* One round: poll without waiting, read every readable socket once. Returns how many notes
 * it wrote (at most `capacity`; sockets beyond that wait for the next round). */
int lg_round(struct reader *reader, struct note *notes, int capacity) {
    int ready = epoll_wait(reader->epfd, reader->events, MAX_EVENTS, 0);
    int written = 0;

    for (int k = 0; k < ready && written < capacity - 1; k++) {
        int fd = reader->events[k].data.fd;
        uint32_t mask = reader->events[k].events;
        if (!reader->rows[fd].active) continue;
        if (mask & EPOLLOUT) {
            notes[written].fd = fd;
            notes[written].kind = NOTE_WRITABLE;
            written++;
        }
        if (mask & (EPOLLIN | EPOLLHUP | EPOLLERR)) written += read_one(reader, fd, &notes[written]);
    }
    return written;
}
