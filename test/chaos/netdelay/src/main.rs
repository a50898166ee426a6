//! netdelay: delay, jitter, reordering and loss for one network namespace's egress, without sch_netem.
//!
//! The chaos harness (test/chaos/netns.ts) adds `iptables -A OUTPUT -o eth0 -j NFQUEUE --queue-num N
//! --queue-bypass` in a node's namespace and runs this daemon there (NFQUEUE sockets are per namespace).
//! Every queued packet is held for `delay ± jitter` (uniform, or normal with jitter as sigma) and then
//! accepted; independent draws reorder packets the way netem's jitter does, `--reorder-pct` sends that
//! share of packets at once (ahead of the held ones), `--loss-pct` drops that share. On SIGTERM/SIGINT
//! every held packet is accepted before exit; the daemon also dies with its parent (PDEATHSIG), and with
//! `--queue-bypass` packets pass undelayed when no daemon is bound.
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use nfq::{Message, Queue, Verdict};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, AtomicOrdering::SeqCst);
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Dist {
    Uniform,
    Normal,
}

#[derive(Parser)]
#[command(name = "netdelay", about = "Holds the packets an NFQUEUE hands it for delay ± jitter, with optional loss and reordering")]
struct Opts {
    /// NFQUEUE number (the iptables rule's --queue-num)
    #[arg(long, default_value_t = 0)]
    queue: u16,
    /// Mean delay per packet, milliseconds
    #[arg(long = "delay-ms", value_parser = in_range(0.0, 60_000.0))]
    delay_ms: f64,
    /// Jitter, milliseconds: ± half-width (uniform) or sigma (normal)
    #[arg(long = "jitter-ms", default_value_t = 0.0, value_parser = in_range(0.0, 60_000.0))]
    jitter_ms: f64,
    /// Distribution of the jitter
    #[arg(long, value_enum, default_value_t = Dist::Uniform)]
    dist: Dist,
    /// Share of packets dropped, percent
    #[arg(long = "loss-pct", default_value_t = 0.0, value_parser = in_range(0.0, 100.0))]
    loss_pct: f64,
    /// Share of packets sent at once (ahead of held ones), percent
    #[arg(long = "reorder-pct", default_value_t = 0.0, value_parser = in_range(0.0, 100.0))]
    reorder_pct: f64,
    /// Seed for the draws (0: from the clock and pid)
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// A clap value parser for a finite number in lo..=hi.
fn in_range(lo: f64, hi: f64) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |s: &str| match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= lo && v <= hi => Ok(v),
        _ => Err(format!("must be a number in {lo}..={hi}, got '{s}'")),
    }
}

fn parse_opts() -> Opts {
    let mut o = Opts::parse();
    if o.seed == 0 {
        o.seed = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1) ^ (std::process::id() as u64) << 32;
    }
    o
}

/// xorshift64*: per-packet draws need speed, not cryptographic quality.
struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

struct Held {
    at: Instant,
    seq: u64,
    msg: Message,
}
impl PartialEq for Held {
    fn eq(&self, o: &Self) -> bool {
        self.at == o.at && self.seq == o.seq
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Held {
    // BinaryHeap is a max-heap: the earliest release time must compare greatest.
    fn cmp(&self, o: &Self) -> Ordering {
        o.at.cmp(&self.at).then_with(|| o.seq.cmp(&self.seq))
    }
}

/// The socket nfq's Queue::open creates: the lowest free descriptor at that moment (probed with dup just
/// before; nothing else opens files then), checked to be a netfilter netlink socket. nfq does not expose it.
fn queue_fd(expected: libc::c_int) -> Option<libc::c_int> {
    let get = |opt: libc::c_int| -> Option<libc::c_int> {
        let mut v: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        let r = unsafe { libc::getsockopt(expected, libc::SOL_SOCKET, opt, &mut v as *mut _ as *mut libc::c_void, &mut len) };
        (r == 0).then_some(v)
    };
    (get(libc::SO_DOMAIN)? == libc::AF_NETLINK && get(libc::SO_PROTOCOL)? == libc::NETLINK_NETFILTER).then_some(expected)
}

fn release(q: &mut Queue, mut msg: Message, verdict: Verdict) {
    msg.set_verdict(verdict);
    if let Err(e) = q.verdict(msg) {
        eprintln!("netdelay: verdict failed: {e}");
    }
}

fn main() {
    let o = parse_opts();
    unsafe {
        // Die with the harness even when it is killed -9 (then its cleanup cannot run).
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGHUP, on_signal as *const () as libc::sighandler_t);
    }
    let parent = unsafe { libc::getppid() };
    let next_fd = unsafe { libc::dup(2) };
    if next_fd >= 0 {
        unsafe { libc::close(next_fd) };
    }
    let mut q = Queue::open().unwrap_or_else(|e| {
        eprintln!("netdelay: cannot open an NFQUEUE netlink socket: {e} (needs root and CONFIG_NETFILTER_NETLINK_QUEUE)");
        std::process::exit(1)
    });
    let fd = if next_fd >= 0 { queue_fd(next_fd) } else { None };
    let setup = (|| -> std::io::Result<()> {
        q.bind(o.queue)?;
        q.set_copy_range(o.queue, 0)?; // metadata only: the payload is never looked at
        q.set_recv_gso(o.queue, true)?; // GSO packets pass whole, unsegmented
        q.set_queue_max_len(o.queue, 65_536)?;
        q.set_fail_open(o.queue, true)?; // a full queue lets packets through rather than dropping them
        Ok(())
    })();
    if let Err(e) = setup {
        eprintln!("netdelay: cannot bind queue {}: {e} (another daemon on this queue in this namespace?)", o.queue);
        std::process::exit(1);
    }
    q.set_nonblocking(true);
    let mut rng = Rng(o.seed.max(1));
    let mut heap: BinaryHeap<Held> = BinaryHeap::new();
    let mut seq = 0u64;
    let (mut passed, mut dropped, mut reordered) = (0u64, 0u64, 0u64);
    println!("ready queue={} delay_ms={} jitter_ms={} dist={} loss_pct={} reorder_pct={} poll={}", o.queue, o.delay_ms, o.jitter_ms, if o.dist == Dist::Normal { "normal" } else { "uniform" }, o.loss_pct, o.reorder_pct, fd.is_some());
    let _ = std::io::stdout().flush();
    while !STOP.load(AtomicOrdering::SeqCst) {
        // Everything the kernel has queued now.
        loop {
            match q.recv() {
                Ok(msg) => {
                    if o.loss_pct > 0.0 && rng.unit() * 100.0 < o.loss_pct {
                        dropped += 1;
                        release(&mut q, msg, Verdict::Drop);
                        continue;
                    }
                    if o.reorder_pct > 0.0 && rng.unit() * 100.0 < o.reorder_pct {
                        reordered += 1;
                        passed += 1;
                        release(&mut q, msg, Verdict::Accept);
                        continue;
                    }
                    let jitter = match o.dist {
                        Dist::Uniform => (rng.unit() * 2.0 - 1.0) * o.jitter_ms,
                        Dist::Normal => rng.normal() * o.jitter_ms,
                    };
                    let ms = (o.delay_ms + jitter).max(0.0);
                    seq += 1;
                    heap.push(Held { at: Instant::now() + Duration::from_secs_f64(ms / 1000.0), seq, msg });
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::Interrupted => break,
                Err(e) => {
                    eprintln!("netdelay: recv failed: {e}");
                    break;
                }
            }
        }
        let now = Instant::now();
        while heap.peek().is_some_and(|h| h.at <= now) {
            let h = heap.pop().unwrap();
            passed += 1;
            release(&mut q, h.msg, Verdict::Accept);
        }
        if unsafe { libc::getppid() } != parent {
            break; // the harness is gone (PDEATHSIG missed: e.g. it was a thread that exited)
        }
        let wait_ms = heap.peek().map(|h| h.at.saturating_duration_since(Instant::now()).as_micros().div_ceil(1000) as i32).unwrap_or(500).min(500);
        match fd {
            Some(fd) => {
                let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
                unsafe { libc::poll(&mut p, 1, wait_ms) };
            }
            None => std::thread::sleep(Duration::from_millis(wait_ms.clamp(0, 1) as u64)),
        }
    }
    let flushed = heap.len();
    while let Some(h) = heap.pop() {
        release(&mut q, h.msg, Verdict::Accept);
    }
    eprintln!("netdelay: exit: {passed} passed ({reordered} sent at once), {dropped} dropped, {flushed} held released at exit");
}
