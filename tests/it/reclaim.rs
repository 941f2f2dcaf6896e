//! Storage given back on time: a dropped table whose retention ended loses its files within
//! retention + grace period, at the statements that follow, however rarely statements come.
//! Days pass on a manual clock that also stamps what the store holds, so the purge's clock check
//! (this process against the store) agrees, as it does when days really pass.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

use datafusion_timemachine::{Clock, ManualClock, TimeMachine, Warehouse};

/// A store whose objects carry the manual clock's time when they were written.
#[derive(Debug)]
struct Stamped {
    inner: InMemory,
    clock: Arc<ManualClock>,
    written: Mutex<HashMap<Path, DateTime<Utc>>>,
}

impl fmt::Display for Stamped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stamped")
    }
}

impl Stamped {
    fn stamp(&self, path: &Path) {
        self.written.lock().unwrap().insert(path.clone(), self.clock.now());
    }

    fn restamp(written: &HashMap<Path, DateTime<Utc>>, mut meta: ObjectMeta) -> ObjectMeta {
        if let Some(at) = written.get(&meta.location) {
            meta.last_modified = *at;
        }
        meta
    }

    fn restamped(&self, metas: Vec<ObjectMeta>) -> Vec<ObjectMeta> {
        let written = self.written.lock().unwrap();
        metas.into_iter().map(|m| Self::restamp(&written, m)).collect()
    }
}

#[async_trait]
impl ObjectStore for Stamped {
    async fn put_opts(&self, l: &Path, p: PutPayload, o: PutOptions) -> Result<PutResult> {
        let r = self.inner.put_opts(l, p, o).await?;
        self.stamp(l);
        Ok(r)
    }
    async fn put_multipart_opts(&self, l: &Path, o: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        self.stamp(l);
        self.inner.put_multipart_opts(l, o).await
    }
    async fn get_opts(&self, l: &Path, o: GetOptions) -> Result<GetResult> {
        let mut r = self.inner.get_opts(l, o).await?;
        r.meta = Self::restamp(&self.written.lock().unwrap(), r.meta);
        Ok(r)
    }
    fn delete_stream(&self, l: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(l)
    }
    fn list(&self, p: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let metas = self.inner.list(p).try_collect::<Vec<_>>();
        let out = futures::executor::block_on(metas).map(|m| self.restamped(m));
        match out {
            Ok(metas) => futures::stream::iter(metas.into_iter().map(Ok)).boxed(),
            Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
        }
    }
    fn list_with_offset(&self, p: Option<&Path>, o: &Path) -> BoxStream<'static, Result<ObjectMeta>> {
        let o = o.clone();
        self.list(p).try_filter(move |m| futures::future::ready(m.location > o)).boxed()
    }
    async fn list_with_delimiter(&self, p: Option<&Path>) -> Result<ListResult> {
        let mut r = self.inner.list_with_delimiter(p).await?;
        r.objects = self.restamped(r.objects);
        Ok(r)
    }
    async fn copy_opts(&self, f: &Path, t: &Path, o: CopyOptions) -> Result<()> {
        self.inner.copy_opts(f, t, o).await?;
        self.stamp(t);
        Ok(())
    }
}

/// Runs one statement as the CLI does: a process of its own that opens the project, runs it,
/// and waits for the background work it started before exiting.
async fn statement(store: &Arc<Stamped>, clock: &Arc<ManualClock>, sql: &str) {
    let warehouse = Warehouse::with_store(Arc::clone(store) as Arc<dyn ObjectStore>, "memory://");
    let tm = TimeMachine::builder().warehouse(warehouse).clock(Arc::clone(clock) as _).build().await.unwrap();
    tm.execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    tm.project().wait_background().await;
}

/// The data files of the table with ObjectId `id`.
async fn data_files(store: &Stamped, id: &str) -> Vec<Path> {
    store
        .inner
        .list(Some(&Path::from(format!("default/data/{id}"))))
        .map_ok(|m| m.location)
        .try_collect()
        .await
        .unwrap()
}

async fn table_id(store: &Arc<Stamped>, clock: &Arc<ManualClock>, name: &str) -> String {
    let warehouse = Warehouse::with_store(Arc::clone(store) as Arc<dyn ObjectStore>, "memory://");
    let tm = TimeMachine::builder().warehouse(warehouse).clock(Arc::clone(clock) as _).build().await.unwrap();
    tm.project().state().live_table(name).unwrap().id.clone()
}

#[tokio::test]
async fn a_dropped_table_loses_its_files_within_retention_and_grace_however_rarely_statements_come() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let store = Arc::new(Stamped { inner: InMemory::new(), clock: Arc::clone(&clock), written: Mutex::default() });
    for sql in [
        "CREATE TABLE t (a STRING)",
        "INSERT INTO t VALUES ('x'), ('y')",
        "INSERT INTO t VALUES ('z')",
        "CREATE TABLE other (a STRING)",
        "CREATE TABLE readonly (a STRING)",
        "INSERT INTO readonly VALUES ('r')",
    ] {
        statement(&store, &clock, sql).await;
    }
    let t = table_id(&store, &clock, "t").await;
    let r = table_id(&store, &clock, "readonly").await;
    assert_eq!(data_files(&store, &t).await.len(), 2);
    statement(&store, &clock, "DROP TABLE t").await;
    statement(&store, &clock, "INSERT OVERWRITE TABLE readonly VALUES ('s')").await;
    let replaced = data_files(&store, &r).await.len();
    assert_eq!(replaced, 2, "the overwritten version keeps its file while retained");

    // Retention (1 day) and grace (1 hour) pass; then a statement comes every 100 hours.
    clock.advance(chrono::Duration::hours(100));
    statement(&store, &clock, "INSERT INTO other VALUES ('1')").await;
    assert_eq!(data_files(&store, &t).await.len(), 2, "freed files wait a grace period after the purge");
    clock.advance(chrono::Duration::hours(100));
    statement(&store, &clock, "INSERT INTO other VALUES ('2')").await;
    assert_eq!(data_files(&store, &t).await, Vec::<Path>::new(), "the dropped table's files are deleted");
    assert_eq!(data_files(&store, &r).await.len(), 1, "the expired version's file is deleted");

    // A project that only reads gives storage back too.
    let other = table_id(&store, &clock, "other").await;
    statement(&store, &clock, "DROP TABLE other").await;
    assert_eq!(data_files(&store, &other).await.len(), 2);
    for _ in 0..2 {
        clock.advance(chrono::Duration::hours(100));
        statement(&store, &clock, "SELECT count(*) FROM readonly").await;
    }
    assert_eq!(data_files(&store, &other).await, Vec::<Path>::new(), "deleted by the purges that reads started");
    ObjectStoreExt::head(&store.inner, &Path::from("default/_swept")).await.expect("a full purge left its marker");
}

#[tokio::test]
async fn a_query_on_an_empty_project_writes_nothing() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let store = Arc::new(Stamped { inner: InMemory::new(), clock: Arc::clone(&clock), written: Mutex::default() });
    statement(&store, &clock, "SELECT 1").await;
    clock.advance(chrono::Duration::hours(100));
    statement(&store, &clock, "SELECT 2").await;
    let written: Vec<Path> = store.inner.list(None).map_ok(|m| m.location).try_collect().await.unwrap();
    assert_eq!(written, Vec::<Path>::new());
}
