//! The sync queue: which repository is synced next, never one twice at once.
//!
//! Order, per the design: jobs a person asked for first; then the priority-language index
//! (listed languages in their order, others after); then size (repositories over the threshold
//! last); then recency (recently modified first); then smaller first.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

/// What a job does to its repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    /// An incremental sync of the whole repository.
    Sync,
    /// An incremental sync of just these paths (from the watcher).
    Paths(BTreeSet<String>),
}

/// Watcher batches larger than this become a whole-repository sync (a `git checkout` of
/// another branch): one walk beats thousands of single-path checks.
pub const MAX_PATHS_PER_JOB: usize = 2000;

/// Sort key: smaller is sooner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Priority {
    /// Asked for by a person (or a watcher): first.
    pub manual: Reverse<bool>,
    /// Position in the priority languages (those not listed after all of them).
    pub language_rank: usize,
    /// Over the size threshold: after the others.
    pub over_threshold: bool,
    /// Most recently modified first.
    pub recency: Reverse<i64>,
    /// Bytes of code, the last tie-break.
    pub size: u64,
}

/// A sync waiting in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The repository's id in the store.
    pub repo_id: i64,
    /// Its folder.
    pub path: PathBuf,
    /// Its name.
    pub name: String,
    /// The whole repository, or some paths of it.
    pub kind: JobKind,
    /// Its place in the queue.
    pub priority: Priority,
}

/// Pending jobs, at most one per repository.
#[derive(Debug, Default)]
pub struct SyncQueue {
    jobs: HashMap<i64, (Job, u64)>,
    seq: u64,
}

impl SyncQueue {
    /// Adds a job, or merges it into the one already queued for that repository: a whole sync
    /// absorbs path jobs, path sets unite (up to [`MAX_PATHS_PER_JOB`]), and the more urgent
    /// priority wins.
    pub fn push(&mut self, job: Job) {
        self.seq += 1;
        let seq = self.seq;
        match self.jobs.get_mut(&job.repo_id) {
            None => {
                self.jobs.insert(job.repo_id, (job, seq));
            }
            Some((queued, _)) => {
                queued.priority = queued.priority.min(job.priority);
                queued.kind = merge(std::mem::replace(&mut queued.kind, JobKind::Sync), job.kind);
            }
        }
    }

    /// Removes and returns the most urgent job (first queued among equals).
    pub fn pop(&mut self) -> Option<Job> {
        let id = self
            .jobs
            .iter()
            .min_by_key(|(_, (job, seq))| (job.priority, *seq))
            .map(|(id, _)| *id)?;
        self.jobs.remove(&id).map(|(job, _)| job)
    }

    /// Removes the first job (in priority order) that `ready` accepts.
    pub fn pop_where(&mut self, ready: impl Fn(&Job) -> bool) -> Option<Job> {
        let id = self
            .jobs
            .iter()
            .filter(|(_, (job, _))| ready(job))
            .min_by_key(|(_, (job, seq))| (job.priority, *seq))
            .map(|(id, _)| *id)?;
        self.jobs.remove(&id).map(|(job, _)| job)
    }

    /// Whether `repo_id` waits in the queue.
    pub fn contains(&self, repo_id: i64) -> bool {
        self.jobs.contains_key(&repo_id)
    }

    /// Takes `repo_id`'s job out of the queue.
    pub fn remove(&mut self, repo_id: i64) -> Option<Job> {
        self.jobs.remove(&repo_id).map(|(job, _)| job)
    }

    /// The names of the first `n` jobs, in the order they would be taken.
    pub fn first_names(&self, n: usize) -> Vec<String> {
        let mut jobs: Vec<&(Job, u64)> = self.jobs.values().collect();
        jobs.sort_by_key(|(job, seq)| (job.priority, *seq));
        jobs.into_iter()
            .take(n)
            .map(|(j, _)| j.name.clone())
            .collect()
    }

    /// Jobs waiting.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Whether no job waits.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

fn merge(a: JobKind, b: JobKind) -> JobKind {
    match (a, b) {
        (JobKind::Paths(mut x), JobKind::Paths(y)) => {
            x.extend(y);
            if x.len() > MAX_PATHS_PER_JOB {
                JobKind::Sync
            } else {
                JobKind::Paths(x)
            }
        }
        _ => JobKind::Sync,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: i64, rank: usize, over: bool, recency: i64, size: u64) -> Job {
        Job {
            repo_id: id,
            path: PathBuf::from(format!("/r/{id}")),
            name: id.to_string(),
            kind: JobKind::Sync,
            priority: Priority {
                manual: Reverse(false),
                language_rank: rank,
                over_threshold: over,
                recency: Reverse(recency),
                size,
            },
        }
    }

    #[test]
    fn order_is_language_then_threshold_then_recency_then_size() {
        let mut q = SyncQueue::default();
        q.push(job(1, 2, false, 100, 10)); // other language
        q.push(job(2, 0, true, 100, 10)); // priority language, but huge
        q.push(job(3, 0, false, 50, 10)); // priority language, older
        q.push(job(4, 0, false, 90, 10)); // priority language, newer
        q.push(job(5, 1, false, 100, 10)); // second priority language
        let mut manual = job(6, 9, true, 0, 10);
        manual.priority.manual = Reverse(true);
        q.push(manual);
        let order: Vec<i64> = std::iter::from_fn(|| q.pop()).map(|j| j.repo_id).collect();
        assert_eq!(order, [6, 4, 3, 2, 5, 1]);
    }

    #[test]
    fn one_job_per_repository_with_merged_paths() {
        let mut q = SyncQueue::default();
        let mut a = job(1, 0, false, 0, 0);
        a.kind = JobKind::Paths(["x.py".to_string()].into());
        let mut b = a.clone();
        b.kind = JobKind::Paths(["y.py".to_string()].into());
        q.push(a.clone());
        q.push(b);
        assert_eq!(q.len(), 1);
        let merged = q.pop().unwrap();
        assert_eq!(
            merged.kind,
            JobKind::Paths(["x.py".to_string(), "y.py".to_string()].into())
        );
        q.push(a);
        q.push(job(1, 0, false, 0, 0));
        assert_eq!(q.pop().unwrap().kind, JobKind::Sync);
        let mut big = job(2, 0, false, 0, 0);
        big.kind = JobKind::Paths((0..MAX_PATHS_PER_JOB).map(|i| format!("{i}.py")).collect());
        q.push(big.clone());
        big.kind = JobKind::Paths(["extra.py".to_string()].into());
        q.push(big);
        assert_eq!(q.pop().unwrap().kind, JobKind::Sync);
    }
}
