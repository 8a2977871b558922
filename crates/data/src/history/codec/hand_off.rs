//! The hand-off between a reader thread and the consumer of what it decodes
//! ([`Cursor::read_ahead`](super::cursor::Cursor)): a bounded queue under
//! one mutex, whose two sides sleep and wake with hysteresis.
//!
//! A plain bounded channel wakes a sleeping consumer at every item: when the
//! consumer is the faster side (the engine's thread of a replay), it empties
//! the queue, sleeps, and the reader pays a wake-up (a futex call and an
//! inter-processor interrupt) for every batch, ~2,400 for 10M trades. Here
//! a consumer that found the queue empty sleeps until [`HandOff::wake_at`]
//! items wait for it (or the producer is done), and a producer that found
//! the queue full sleeps until the consumer has taken it down to
//! [`HandOff::resume_at`]: each side wakes the other once per several items.
//! Items come out in the order they went in; the consumer can hand items of
//! another type back ([`Consumer::recv_returning`]), which the producer
//! drops on its own thread (where their memory was allocated), and only
//! after [`HandOff::keep_returned`] later ones have come back: memory the
//! consumer has just read is still in its core's cache, and the producer
//! writing it again at once (the allocator hands the freed buffers straight
//! back to the next decode) pays for taking each line back from that core;
//! kept a while, the lines have left that core's cache first.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// The queue's sizes: how many items it holds, and the two wake-up marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HandOff {
    /// Items the queue holds at most (>= 1).
    pub capacity: usize,
    /// A sleeping consumer is woken when this many items wait (1..=capacity).
    pub wake_at: usize,
    /// A sleeping producer is woken when the consumer has taken the queue
    /// down to this many items (< capacity).
    pub resume_at: usize,
    /// Returned items the producer keeps (the latest) before dropping the
    /// oldest.
    pub keep_returned: usize,
}

impl HandOff {
    /// The two ends of a new queue of these sizes (clamped to be valid:
    /// `1 <= wake_at <= capacity`, `resume_at < capacity`).
    pub(crate) fn channel<T, U>(self) -> (Producer<T, U>, Consumer<T, U>) {
        let capacity = self.capacity.max(1);
        let sizes = Self {
            capacity,
            wake_at: self.wake_at.clamp(1, capacity),
            resume_at: self.resume_at.min(capacity - 1),
            keep_returned: self.keep_returned,
        };
        // At most `capacity` items wait, one is being made and one used:
        // the returned items between two of the producer's sends are fewer.
        let returns = capacity + 2;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity),
                returned: Vec::with_capacity(returns),
                consumer_waiting: false,
                producer_waiting: false,
                producer_done: false,
                consumer_gone: false,
            }),
            ready: Condvar::new(),
            space: Condvar::new(),
            sizes,
        });
        (
            Producer {
                shared: Arc::clone(&shared),
                taken: Vec::with_capacity(returns),
                kept: VecDeque::with_capacity(sizes.keep_returned + returns),
            },
            Consumer { shared },
        )
    }
}

/// What both ends share.
struct Shared<T, U> {
    state: Mutex<State<T, U>>,
    /// The consumer sleeps here.
    ready: Condvar,
    /// The producer sleeps here.
    space: Condvar,
    sizes: HandOff,
}

/// The queue and who sleeps.
struct State<T, U> {
    items: VecDeque<T>,
    /// Items the consumer handed back, for the producer to drop.
    returned: Vec<U>,
    consumer_waiting: bool,
    producer_waiting: bool,
    /// The producer has sent its last item (or was dropped, e.g. unwinding).
    producer_done: bool,
    /// The consumer was dropped: the producer stops at its next send.
    consumer_gone: bool,
}

impl<T, U> Shared<T, U> {
    /// The state, also after a panic on the other side (no critical section
    /// here leaves it inconsistent: each is a few pushes, pops and flags).
    fn lock(&self) -> MutexGuard<'_, State<T, U>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The sending end, on the reader thread. Dropping it tells the consumer
/// that no more items come.
pub(crate) struct Producer<T, U> {
    shared: Arc<Shared<T, U>>,
    /// The returned items taken out of the queue (swapped with the queue's
    /// list under the lock, so neither allocates), moved to `kept` outside it.
    taken: Vec<U>,
    /// The latest [`HandOff::keep_returned`] returned items, oldest first;
    /// older ones are dropped.
    kept: VecDeque<U>,
}

impl<T, U> Producer<T, U> {
    /// Queues `item`, first sleeping while the queue is full, and drops the
    /// items the consumer handed back; `false` (the item dropped) if the
    /// consumer is gone.
    pub(crate) fn send(&mut self, item: T) -> bool {
        let shared = &*self.shared;
        let mut state = shared.lock();
        while state.items.len() >= shared.sizes.capacity && !state.consumer_gone {
            debug_assert!(
                !state.consumer_waiting,
                "Invariant: a full queue has woken its consumer (wake_at <= capacity)"
            );
            state.producer_waiting = true;
            state = shared
                .space
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.consumer_gone {
            return false;
        }
        state.items.push_back(item);
        debug_assert!(
            state.items.len() <= shared.sizes.capacity,
            "Invariant: the queue holds at most its capacity"
        );
        let wake = state.consumer_waiting && state.items.len() >= shared.sizes.wake_at;
        if wake {
            state.consumer_waiting = false;
        }
        std::mem::swap(&mut state.returned, &mut self.taken);
        drop(state);
        if wake {
            shared.ready.notify_one();
        }
        // Within `kept`'s capacity: it holds at most `keep_returned` here, and
        // fewer than `capacity + 2` come back between two sends.
        self.kept.extend(self.taken.drain(..));
        while self.kept.len() > shared.sizes.keep_returned {
            drop(self.kept.pop_front());
        }
        true
    }
}

impl<T, U> Drop for Producer<T, U> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.producer_done = true;
        let wake = std::mem::take(&mut state.consumer_waiting);
        drop(state);
        if wake {
            self.shared.ready.notify_one();
        }
    }
}

/// The receiving end, on the consumer's thread. Dropping it makes the
/// producer's next send fail (and wakes it if it sleeps on a full queue).
pub(crate) struct Consumer<T, U> {
    shared: Arc<Shared<T, U>>,
}

impl<T, U> Consumer<T, U> {
    /// Hands `used` back to the producer (which drops it), then takes the
    /// next item: `None` when the producer is done and the queue empty. On
    /// an empty queue it sleeps until [`HandOff::wake_at`] items wait or
    /// the producer is done.
    pub(crate) fn recv_returning(&mut self, used: Option<U>) -> Option<T> {
        let shared = &*self.shared;
        let mut state = shared.lock();
        // Dropped here instead if the producer no longer takes it back, or if
        // the list is full (which the sizes rule out).
        let mut keep = None;
        if let Some(used) = used {
            if state.producer_done || state.returned.len() == state.returned.capacity() {
                keep = Some(used);
            } else {
                state.returned.push(used);
            }
        }
        let item = loop {
            if let Some(item) = state.items.pop_front() {
                break Some(item);
            }
            if state.producer_done {
                break None;
            }
            state.consumer_waiting = true;
            state = shared
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        };
        let wake = state.producer_waiting && state.items.len() <= shared.sizes.resume_at;
        if wake {
            state.producer_waiting = false;
        }
        drop(state);
        if wake {
            shared.space.notify_one();
        }
        drop(keep);
        item
    }
}

impl<T, U> Drop for Consumer<T, U> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.consumer_gone = true;
        let wake = std::mem::take(&mut state.producer_waiting);
        drop(state);
        if wake {
            self.shared.space.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread::ThreadId;

    use proptest::prelude::*;

    use super::HandOff;
    use crate::history::codec::cursor::{BATCH_ROWS, READ_AHEAD};

    /// A returned item that counts the live ones and records the thread that
    /// drops it.
    struct Used {
        live: Arc<AtomicUsize>,
        dropped_on: Arc<std::sync::Mutex<Vec<ThreadId>>>,
    }

    impl Drop for Used {
        fn drop(&mut self) {
            self.live.fetch_sub(1, Ordering::SeqCst);
            self.dropped_on
                .lock()
                .expect("not poisoned")
                .push(std::thread::current().id());
        }
    }

    /// A pause of `units` x 200 spins (no yield: on a loaded machine a
    /// yield can take milliseconds).
    fn pause(units: u8) {
        for _ in 0..u32::from(units) * 200 {
            std::hint::spin_loop();
        }
    }

    /// `n` numbers through a queue of `sizes`, the producer and the consumer
    /// pausing at the given patterns, every number handed back:
    /// all arrive, in order; no more returned items live at once than the
    /// queue's memory bound; each is dropped once, on the producer's thread
    /// unless it came back after the producer ended.
    fn check(sizes: HandOff, n: u32, producer_pauses: &[u8], consumer_pauses: &[u8]) {
        let (mut producer, mut consumer) = sizes.channel::<u32, Used>();
        let pauses = producer_pauses.to_vec();
        let thread = std::thread::spawn(move || {
            for i in 0..n {
                pause(pauses[i as usize % pauses.len()]);
                assert!(producer.send(i), "the consumer is there");
            }
            std::thread::current().id()
        });
        let live = Arc::new(AtomicUsize::new(0));
        let dropped_on = Arc::new(std::sync::Mutex::new(Vec::new()));
        let bound = sizes.keep_returned + sizes.capacity.max(1) + 3;
        let mut next = 0;
        let mut used = None;
        while let Some(item) = consumer.recv_returning(used.take()) {
            assert_eq!(item, next, "{sizes:?}: in order");
            pause(consumer_pauses[item as usize % consumer_pauses.len()]);
            next += 1;
            live.fetch_add(1, Ordering::SeqCst);
            assert!(
                live.load(Ordering::SeqCst) <= bound,
                "{sizes:?}: at most {bound} returned items live"
            );
            used = Some(Used {
                live: Arc::clone(&live),
                dropped_on: Arc::clone(&dropped_on),
            });
        }
        drop(used);
        let producer_thread = thread.join().expect("the producer ends");
        assert_eq!(next, n, "{sizes:?}: every item");
        drop(consumer);
        assert_eq!(
            live.load(Ordering::SeqCst),
            0,
            "{sizes:?}: every one dropped"
        );
        let dropped_on = dropped_on.lock().expect("not poisoned");
        assert_eq!(dropped_on.len(), n as usize, "{sizes:?}: each dropped once");
        let here = std::thread::current().id();
        let on_producer = dropped_on.iter().filter(|&&t| t == producer_thread).count();
        let on_consumer = dropped_on.iter().filter(|&&t| t == here).count();
        assert_eq!(on_producer + on_consumer, n as usize);
        // Only those handed back after the producer's last send, at most the
        // queue's capacity plus the one in hand, are dropped here.
        assert!(
            on_consumer <= sizes.capacity.max(1) + 1,
            "{sizes:?}: {on_consumer} dropped on the consumer's thread"
        );
    }

    /// The reader thread's sizes (and round 7's), edge sizes, fixed pauses.
    #[test]
    fn items_arrive_in_order_and_come_back() {
        let reader = READ_AHEAD;
        for (capacity, wake_at, resume_at, keep_returned) in [
            (
                reader.capacity,
                reader.wake_at,
                reader.resume_at,
                reader.keep_returned,
            ),
            (64, 8, 32, 64),
            (1, 1, 0, 0),
            (4, 1, 3, 0),
            (4, 4, 0, 2),
            (8, 3, 5, 1),
            (16, 20, 30, 100),
            (0, 0, 0, 0),
        ] {
            let sizes = HandOff {
                capacity,
                wake_at,
                resume_at,
                keep_returned,
            };
            check(sizes, 2_000, &[0, 0, 3], &[1, 0]);
            check(sizes, 2_000, &[2], &[0]);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 64,
            rng_seed: proptest::test_runner::RngSeed::Fixed(14),
            ..ProptestConfig::default()
        })]

        /// Random sizes (valid or not: they are clamped), lengths and pause
        /// patterns: [`check`]'s properties hold.
        #[test]
        fn any_sizes_and_timing(
            capacity in 0usize..12,
            wake_at in 0usize..14,
            resume_at in 0usize..14,
            keep_returned in 0usize..10,
            n in 0u32..300,
            producer_pauses in proptest::collection::vec(0u8..4, 1..8),
            consumer_pauses in proptest::collection::vec(0u8..4, 1..8),
        ) {
            let sizes = HandOff { capacity, wake_at, resume_at, keep_returned };
            check(sizes, n, &producer_pauses, &consumer_pauses);
        }
    }

    /// The reader thread's queue is valid as written (the clamping in
    /// [`HandOff::channel`] changes nothing) and holds at least a million
    /// rows: the engine's lag early in a replay through the engine (100-200
    /// batches of 4,096 rows, docs/performance.md "round 9") fits in it, so
    /// the reader, the replay's critical path, does not sleep on it.
    #[test]
    fn the_reader_queue_holds_the_engines_lag() {
        // Read as a value (not a constant expression) so that the checks run.
        let sizes = std::hint::black_box(READ_AHEAD);
        assert!(1 <= sizes.wake_at && sizes.wake_at <= sizes.capacity);
        assert!(sizes.resume_at < sizes.capacity);
        assert!(
            sizes.capacity * BATCH_ROWS >= 1_000_000,
            "{sizes:?}: {} rows",
            sizes.capacity * BATCH_ROWS
        );
        // A consumer that takes nothing yet: the producer queues the whole
        // capacity without waiting (on this thread: a wait would never end).
        let (mut producer, mut consumer) = sizes.channel::<usize, ()>();
        for i in 0..sizes.capacity {
            assert!(producer.send(i));
        }
        drop(producer);
        let mut received = 0;
        while let Some(item) = consumer.recv_returning(None) {
            assert_eq!(item, received);
            received += 1;
        }
        assert_eq!(received, sizes.capacity);
    }

    /// A consumer dropped while the producer sleeps on a full queue: the
    /// producer's send fails instead of sleeping forever.
    #[test]
    fn a_dropped_consumer_stops_the_producer() {
        let sizes = HandOff {
            capacity: 2,
            wake_at: 1,
            resume_at: 0,
            keep_returned: 0,
        };
        let (mut producer, mut consumer) = sizes.channel::<u32, ()>();
        let thread = std::thread::spawn(move || (0..).take_while(|&i| producer.send(i)).count());
        assert_eq!(consumer.recv_returning(None), Some(0));
        drop(consumer);
        let sent = thread.join().expect("the producer ends");
        assert!(sent <= 3, "it stopped at a full queue, after {sent} items");
    }

    /// A producer that panics wakes the consumer sleeping for more items
    /// than it sent, which sees the end instead of sleeping forever.
    #[test]
    fn a_panicking_producer_ends_the_stream() {
        let sizes = HandOff {
            capacity: 8,
            wake_at: 8,
            resume_at: 4,
            keep_returned: 2,
        };
        let (mut producer, mut consumer) = sizes.channel::<u32, ()>();
        let thread = std::thread::spawn(move || {
            assert!(producer.send(1));
            panic!("the reader fails");
        });
        assert_eq!(consumer.recv_returning(None), Some(1));
        assert_eq!(consumer.recv_returning(None), None);
        assert!(thread.join().is_err(), "the panic reaches the join");
    }
}
