//! The CPU time this process has used, all threads together, read from `/proc/self/stat`,
//! so that a phase can report its CPU per receipt next to its rate: on a shared machine the
//! rate moves with the load, the CPU a receipt much less.

use std::time::Duration;

/// Clock ticks a second in `/proc`'s `utime` and `stime` (Linux's `USER_HZ`, 100 on every
/// architecture the kernel exports to user space).
const TICKS_PER_SECOND: u64 = 100;

/// User plus system time of this process so far, or `None` where `/proc` cannot be read
/// (not Linux): the bench then prints no CPU figure rather than a wrong one.
pub fn process_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After the name: state is field 3, so utime (14) and stime (15) are the 12th and 13th.
    let user: u64 = fields.nth(11)?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((user + system) * 1000 / TICKS_PER_SECOND))
}
