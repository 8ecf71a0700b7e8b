//! CPU time and resident memory of the processes under test, from /proc. Everything shares
//! one machine, so a client-side number means little without the CPU each process burned.

use std::collections::BTreeMap;
use std::fs;
use std::time::Instant;

use serde::Serialize;

use crate::common::Common;

/// Clock ticks per second of /proc/<pid>/stat times.
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// utime + stime + cutime + cstime from a /proc/<pid>/stat line. The children's times matter
/// for postgres: a backend that exits during the run is added to the postmaster's cutime.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // The command name may hold spaces and parentheses; the fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); utime is field 14.
    let mut total = 0;
    for index in 11..=14 {
        total += fields.get(index)?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// VmRSS in KiB from a /proc/<pid>/status text.
pub fn parse_rss_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
}

pub fn rss_kb(pid: u32) -> Option<u64> {
    parse_rss_kb(&fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    parse_stat_ticks(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// (pid, comm, basename of argv[0]) of every process we can read.
fn processes() -> Vec<(u32, String, String)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<_> = entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let argv0 = cmdline.split(|&b| b == 0).next().unwrap_or_default();
            let argv0 = String::from_utf8_lossy(argv0);
            let base = argv0.rsplit('/').next().unwrap_or_default().to_owned();
            Some((pid, comm.trim().to_owned(), base))
        })
        .collect();
    found.sort_unstable();
    found
}

fn find(names: &[&str]) -> Vec<u32> {
    let me = std::process::id();
    processes()
        .into_iter()
        .filter(|(pid, comm, base)| {
            // comm is cut to 15 bytes: "kitchen-notifie".
            *pid != me
                && names
                    .iter()
                    .any(|n| base == n || comm == n || (n.len() > 15 && comm == &n[..15]))
        })
        .map(|(pid, _, _)| pid)
        .collect()
}

/// How to find a measured process again at each sample: a fixed pid, or every process of a
/// name (postgres forks a backend per connection).
#[derive(Clone, Debug)]
enum Selector {
    Pid(u32),
    Named(&'static str),
}

#[derive(Clone, Debug)]
struct Group {
    label: String,
    selector: Selector,
}

impl Group {
    fn pids(&self) -> Vec<u32> {
        match self.selector {
            Selector::Pid(pid) => vec![pid],
            Selector::Named(name) => find(&[name]),
        }
    }
}

/// The processes whose CPU and memory a run reports.
#[derive(Clone, Debug)]
pub struct Processes {
    pub order_service: Option<u32>,
    pub notifier: Option<u32>,
    groups: Vec<Group>,
}

impl Processes {
    /// Uses the pid flags, else looks the services up by name; `kitchen` (the one-process
    /// launcher) stands in for whichever is not running on its own.
    pub fn discover(common: &Common) -> Self {
        let first = |names: &[&str]| find(names).into_iter().next();
        let mut order_service = common
            .order_service_pid
            .or_else(|| first(&["order-service"]));
        let mut notifier = common.notifier_pid.or_else(|| first(&["kitchen-notifier"]));
        if order_service.is_none() || notifier.is_none() {
            let launcher = first(&["kitchen"]);
            order_service = order_service.or(launcher);
            notifier = notifier.or(launcher);
        }
        let mut groups = Vec::new();
        match (order_service, notifier) {
            (Some(a), Some(b)) if a == b => groups.push(Group {
                label: "order-service+notifier".into(),
                selector: Selector::Pid(a),
            }),
            _ => {
                let services = [
                    ("order-service", "--order-service-pid", order_service),
                    ("kitchen-notifier", "--notifier-pid", notifier),
                ];
                for (label, flag, pid) in services {
                    match pid {
                        Some(pid) => groups.push(Group {
                            label: label.into(),
                            selector: Selector::Pid(pid),
                        }),
                        None => eprintln!(
                            "loadgen: no {label} process found, its CPU and memory are not reported (see {flag})"
                        ),
                    }
                }
            }
        }
        if !find(&["postgres"]).is_empty() {
            groups.push(Group {
                label: "postgres".into(),
                selector: Selector::Named("postgres"),
            });
        }
        if !find(&["beam.smp"]).is_empty() {
            groups.push(Group {
                label: "rabbitmq".into(),
                selector: Selector::Named("beam.smp"),
            });
        }
        groups.push(Group {
            label: "loadgen".into(),
            selector: Selector::Pid(std::process::id()),
        });
        Self {
            order_service,
            notifier,
            groups,
        }
    }

    /// Whether both services are one process (their RSS and CPU cannot be told apart).
    pub fn combined(&self) -> bool {
        self.order_service.is_some() && self.order_service == self.notifier
    }

    pub fn cpu_snapshot(&self) -> CpuSnapshot {
        let ticks = self
            .groups
            .iter()
            .map(|group| {
                let pids = group.pids();
                let total = pids.iter().filter_map(|&pid| cpu_ticks(pid)).sum();
                (group.label.clone(), (pids, total))
            })
            .collect();
        CpuSnapshot {
            at: Instant::now(),
            ticks,
        }
    }
}

pub struct CpuSnapshot {
    at: Instant,
    ticks: BTreeMap<String, (Vec<u32>, u64)>,
}

/// CPU one process (or group of same-named processes) used during a run.
#[derive(Clone, Debug, Serialize)]
pub struct CpuLine {
    pub process: String,
    pub pids: Vec<u32>,
    pub cpu_seconds: f64,
    /// Of one core, over the wall time between the snapshots.
    pub cpu_percent: f64,
}

impl CpuSnapshot {
    pub fn since(&self, start: &CpuSnapshot) -> Vec<CpuLine> {
        let wall = self.at.duration_since(start.at).as_secs_f64().max(1e-9);
        let per_second = ticks_per_second();
        self.ticks
            .iter()
            .map(|(label, (pids, end))| {
                let begin = start.ticks.get(label).map_or(0, |(_, t)| *t);
                let seconds = end.saturating_sub(begin) as f64 / per_second;
                CpuLine {
                    process: label.clone(),
                    pids: pids.clone(),
                    cpu_seconds: seconds,
                    cpu_percent: 100.0 * seconds / wall,
                }
            })
            .collect()
    }
}

/// Raises the soft open-file limit to at least `wanted` (or as far as allowed): every socket
/// is a descriptor.
pub fn raise_fd_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur >= wanted {
            return limit.rlim_cur;
        }
        // Raising the hard limit needs privileges; fall back to the hard limit without them.
        let raised = libc::rlimit {
            rlim_cur: wanted,
            rlim_max: limit.rlim_max.max(wanted),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            return wanted;
        }
        let capped = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &capped) == 0 {
            return limit.rlim_max;
        }
        limit.rlim_cur
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_an_awkward_name() {
        let line = "2207 (post gres) (x)) S 1 2207 2207 0 -1 4194304 60295 4442740 0 153 17 223 3148 8293 20 0 1 0";
        assert_eq!(parse_stat_ticks(line), Some(17 + 223 + 3148 + 8293));
        assert_eq!(parse_stat_ticks("12 (x) S 1 2"), None);
    }

    #[test]
    fn rss_from_status() {
        let status = "Name:\tpostgres\nVmPeak:\t  222 kB\nVmRSS:\t   30692 kB\nRssAnon:\t 1 kB\n";
        assert_eq!(parse_rss_kb(status), Some(30692));
        assert_eq!(parse_rss_kb("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn this_process_can_be_measured() {
        let me = std::process::id();
        assert!(rss_kb(me).is_some_and(|kb| kb > 0));
        assert!(cpu_ticks(me).is_some());
    }
}
