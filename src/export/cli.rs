//! `quorum export`: makes a snapshot from the command line (recorded like one made on the web,
//! with no user), shows a progress bar, and copies the file to `--out`.

use std::path::{Path, PathBuf};

use crate::clock::Clock;
use crate::db::{self, Db};
use crate::domain::ids::TaskId;
use crate::error::AppError;
use crate::export::snapshot::{self, Job};
use crate::export::{ExportRequest, SplitsRequest, store};

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The task to export.
    #[arg(long)]
    pub task: i64,
    /// jsonl, csv, parquet or tfrecord; for one label kind preference, conll, spacy, coco or yolo.
    #[arg(long)]
    pub format: String,
    /// Where to write the snapshot file, or - for standard output.
    #[arg(long)]
    pub out: PathBuf,
    /// Every item, with or without a final label (default: only items with one).
    #[arg(long)]
    pub all: bool,
    /// Add each rater's vote, under a pseudonymous rater id.
    #[arg(long)]
    pub include_votes: bool,
    /// Leave gold items out.
    #[arg(long)]
    pub exclude_gold: bool,
    /// Leave out final labels less confident than this (0 to 1).
    #[arg(long)]
    pub min_confidence: Option<f64>,
    /// Share of rows in the train split (giving any split fraction turns splits on).
    #[arg(long)]
    pub train: Option<f64>,
    /// Share of rows in the validation split.
    #[arg(long)]
    pub validation: Option<f64>,
    /// Share of rows in the test split.
    #[arg(long)]
    pub test: Option<f64>,
    /// Seed of the split assignment.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A data field: rows sharing its value land in the same split.
    #[arg(long)]
    pub group_by: Option<String>,
    /// Write the folders a pipeline reads, one per split, as a tar archive: `tfx` (TFX
    /// ExampleGen, with --format tfrecord) or `hf` (Hugging Face datasets, parquet or jsonl).
    #[arg(long)]
    pub layout: Option<String>,
}

impl ExportArgs {
    fn request(&self) -> ExportRequest {
        let split_given = self.train.is_some() || self.validation.is_some() || self.test.is_some();
        ExportRequest {
            format: self.format.clone(),
            only_resolved: Some(!self.all),
            include_votes: Some(self.include_votes),
            include_gold: Some(!self.exclude_gold),
            min_confidence: self.min_confidence,
            splits: split_given.then(|| SplitsRequest {
                train: self.train.unwrap_or(0.0),
                validation: self.validation.unwrap_or(0.0),
                test: self.test.unwrap_or(0.0),
                seed: self.seed,
                group_by: self.group_by.clone(),
            }),
            layout: self.layout.clone(),
        }
    }
}

/// Runs `quorum export`.
pub async fn run_export(db: &Db, data_dir: &Path, args: ExportArgs) -> Result<(), String> {
    if args.group_by.is_some()
        && args.train.is_none()
        && args.validation.is_none()
        && args.test.is_none()
    {
        return Err("--group-by needs split fractions (--train, --validation, --test)".into());
    }
    let settings = args.request().check()?;
    let task = db::tasks::get(&db.pool, TaskId(args.task))
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("there is no task {}", args.task))?;
    if let Some(e) = settings.format.unfit_for(&task.schema) {
        return Err(e);
    }
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} exporting {bar:40} {pos}/{len} rows ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let job = Job {
        task,
        settings,
        created_by: None,
        ip: String::new(),
        now: Clock::default().now_ms(),
    };
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let result = snapshot::create(db, data_dir, job, &progress).await;
    bar.finish_and_clear();
    let export = match result {
        Ok(e) => e,
        Err(AppError::BadRequest { message, .. }) => return Err(message),
        Err(AppError::StorageFull) => return Err("the disk is full; no snapshot was made".into()),
        Err(AppError::Internal(detail)) => return Err(format!("the export failed: {detail}")),
        Err(e) => return Err(format!("the export failed: {e}")),
    };
    let source = store::exports_dir(data_dir).join(&export.file_name);
    if args.out.as_os_str() == "-" {
        let mut file =
            std::fs::File::open(&source).map_err(|e| format!("cannot read the snapshot: {e}"))?;
        std::io::copy(&mut file, &mut std::io::stdout().lock())
            .map_err(|e| format!("cannot write to standard output: {e}"))?;
    } else {
        std::fs::copy(&source, &args.out)
            .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    }
    eprintln!(
        "export #{} of task {}: {} rows, {} bytes, sha256 {} ({:.2} s)",
        export.id,
        export.task_id,
        export.rows,
        export.bytes,
        export.sha256,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
