"""A reference implementation of the Python seed (`simple_daemon`), written from the seed's README,
for side-by-side measurements. Usage:

    simple_daemon_seed.py LOG_DIR passive|aggressive     # the seed's two loops, sleep(60)
    simple_daemon_seed.py LOG_DIR lines N                # N INFO lines through the rotating file
"""
import logging
import logging.handlers
import os
import signal
import sys
import time


class SimpleDaemonExit(Exception):
    pass


class SimpleDaemon:
    def __init__(self, name_app, interrupt_mode=False, log_path="/tmp/", log_name="simple_daemon.log",
                 stream=False, max_size_byte_log=1024 * 1024, max_count_file_rotation=2, log_lvl=10):
        self.name_app = name_app
        self.interrupt_mode = interrupt_mode
        self.interrupted = False
        self.logger = logging.getLogger(name_app)
        self.logger.setLevel(log_lvl)
        fmt = logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s")
        fh = logging.handlers.RotatingFileHandler(os.path.join(log_path, log_name), maxBytes=max_size_byte_log,
                                                  backupCount=max_count_file_rotation)
        fh.setFormatter(fmt)
        self.logger.addHandler(fh)
        if stream:
            sh = logging.StreamHandler(sys.stdout)
            sh.setFormatter(fmt)
            self.logger.addHandler(sh)

    def __enter__(self):
        self.logger.info("PID: %s", os.getpid())
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handler)
            self.logger.debug("Set signal handler: %s", int(sig))
        self.logger.info("Mode: %s", "AGGRESSIVE" if self.interrupt_mode else "PASSIVE")
        return self

    def __exit__(self, *exc):
        return False

    def _handler(self, signo, frame):
        if self.interrupt_mode:
            self.logger.info("Received %s signal.", signo)
            self.logger.info("Graceful Interrupt...")
            raise SimpleDaemonExit()
        self.interrupted = True
        self.logger.info("interrupted == True")
        self.logger.info("Received %s signal.", signo)


def main():
    log_dir, what = sys.argv[1], sys.argv[2]
    if what == "lines":
        d = SimpleDaemon("MyDaemon", log_path=log_dir)
        for i in range(int(sys.argv[3])):
            d.logger.info("line %d", i)
        return
    aggressive = what == "aggressive"
    try:
        with SimpleDaemon("MyDaemon", interrupt_mode=aggressive, log_path=log_dir, stream=True) as sdh:
            sys.stdout.flush()
            while True:
                if sdh.interrupted:
                    break
                time.sleep(60)
                if sdh.interrupted:
                    break
    except SimpleDaemonExit:
        print("SimpleDaemon Exit")


if __name__ == "__main__":
    main()
