//! A signal sender for the storm tests: `fault_kill <pid> <count> <SIG,SIG,...>` sends `count`
//! signals to `pid` as fast as it can, cycling through the list (`INT`, `TERM`, `HUP`), and
//! prints how many `kill(2)` calls succeeded.
//!
//! It waits for a line on stdin before it starts, so several senders can be started first and
//! released together.

use std::io::BufRead;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!("usage: fault_kill <pid> <count> <INT,TERM,HUP>");
        std::process::exit(64);
    };
    if args.len() != 4 {
        usage();
    }
    let Ok(pid) = args[1].parse::<libc::pid_t>() else {
        usage()
    };
    let Ok(count) = args[2].parse::<u64>() else {
        usage()
    };
    let sigs: Vec<i32> = args[3]
        .split(',')
        .map(|s| match s {
            "INT" => libc::SIGINT,
            "TERM" => libc::SIGTERM,
            "HUP" => libc::SIGHUP,
            _ => usage(),
        })
        .collect();
    let mut go = String::new();
    let _ = std::io::stdin().lock().read_line(&mut go);
    let mut sent = 0u64;
    for i in 0..count {
        let sig = sigs[(i % sigs.len() as u64) as usize];
        // SAFETY: kill(2) has no memory-safety preconditions.
        if unsafe { libc::kill(pid, sig) } == 0 {
            sent += 1;
        }
    }
    println!("{sent}");
}
