//! The AuthZEN client against a small AuthZEN PDP on 127.0.0.1 that counts its calls:
//! decisions kept for their TTL and asked once by concurrent callers, errors never kept, every
//! failure (status, body, count, time) an error rather than a decision, the credentials sent and
//! never printed, the metadata read once. The real PDP (Cerbos) is in `authzen_cerbos`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::future::join_all;
use mcp_auth::AuthInfo;
use mcp_auth::policy::{AccessRequest, AuthZen, AuthZenBuilder, DecisionPoint};
use serde_json::{Value, json};

use crate::common::{TestServer, logs_at, serve};

/// How the PDP answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Decides: a resource whose id starts with `allowed` is allowed, others denied.
    Decide,
    /// Answers this status, with a JSON error body.
    Status(u16),
    /// Answers 200 with a web page.
    NotJson,
    /// Answers 200 with `decision` twice: false, then true.
    RepeatedDecision,
    /// Answers 200 with the decision `"true"`, a string, in each place a decision goes.
    StringDecision,
    /// Answers batches with one decision fewer than asked.
    OneAnswerShort,
    /// Decides, after this long.
    Slow(Duration),
}

/// What the PDP's metadata says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metadata {
    /// Both endpoints.
    Both,
    /// The evaluation endpoint only.
    NoBatch,
    /// Another PDP's identifier.
    OtherPdp,
    /// A 500.
    Failing,
    /// A 404: the PDP publishes no metadata.
    Missing,
}

#[derive(Default)]
struct Counts {
    metadata: AtomicUsize,
    evaluation: AtomicUsize,
    evaluations: AtomicUsize,
}

struct Pdp {
    base: String,
    counts: Counts,
    answer: Mutex<Answer>,
    metadata: Mutex<Metadata>,
    /// The wait before answering the metadata.
    metadata_delay: Mutex<Duration>,
    /// The `Authorization` header of every call.
    authorizations: Mutex<Vec<Option<String>>>,
    /// How many questions each batch asked.
    batch_sizes: Mutex<Vec<usize>>,
}

/// A fake AuthZEN PDP on 127.0.0.1.
struct FakePdp {
    server: TestServer,
    state: Arc<Pdp>,
}

impl FakePdp {
    async fn start() -> Self {
        let mut state = None;
        let server = serve(|addr| {
            let pdp = Arc::new(Pdp {
                base: format!("http://{addr}"),
                counts: Counts::default(),
                answer: Mutex::new(Answer::Decide),
                metadata: Mutex::new(Metadata::Both),
                metadata_delay: Mutex::new(Duration::ZERO),
                authorizations: Mutex::new(Vec::new()),
                batch_sizes: Mutex::new(Vec::new()),
            });
            state = Some(pdp.clone());
            axum::Router::new()
                .route("/.well-known/authzen-configuration", get(metadata))
                .route("/access/v1/evaluation", post(evaluation))
                .route("/access/v1/evaluations", post(evaluations))
                .with_state(pdp)
        })
        .await;
        Self {
            server,
            state: state.unwrap(),
        }
    }

    fn url(&self) -> String {
        self.server.url("")
    }

    /// A client of this PDP, its endpoints discovered.
    fn client(&self) -> AuthZenBuilder {
        AuthZen::builder(self.url())
    }

    /// A client of this PDP, both endpoints given.
    fn configured(&self) -> AuthZenBuilder {
        self.client()
            .evaluation_endpoint(self.server.url("/access/v1/evaluation"))
            .evaluations_endpoint(self.server.url("/access/v1/evaluations"))
    }

    fn answer(&self, answer: Answer) {
        *self.state.answer.lock().unwrap() = answer;
    }

    fn metadata(&self, metadata: Metadata) {
        *self.state.metadata.lock().unwrap() = metadata;
    }

    /// Calls of the metadata, evaluation and evaluations endpoints.
    fn calls(&self) -> (usize, usize, usize) {
        let counts = &self.state.counts;
        (
            counts.metadata.load(Ordering::SeqCst),
            counts.evaluation.load(Ordering::SeqCst),
            counts.evaluations.load(Ordering::SeqCst),
        )
    }

    fn batch_sizes(&self) -> Vec<usize> {
        self.state.batch_sizes.lock().unwrap().clone()
    }
}

async fn metadata(State(pdp): State<Arc<Pdp>>, headers: HeaderMap) -> Response {
    pdp.counts.metadata.fetch_add(1, Ordering::SeqCst);
    record_authorization(&pdp, &headers);
    let delay = *pdp.metadata_delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let base = &pdp.base;
    let metadata = *pdp.metadata.lock().unwrap();
    let evaluation = format!("{base}/access/v1/evaluation");
    let evaluations = format!("{base}/access/v1/evaluations");
    match metadata {
        Metadata::Both => Json(json!({
            "policy_decision_point": base,
            "access_evaluation_endpoint": evaluation,
            "access_evaluations_endpoint": evaluations,
        }))
        .into_response(),
        Metadata::NoBatch => Json(json!({
            "policy_decision_point": base,
            "access_evaluation_endpoint": evaluation,
        }))
        .into_response(),
        Metadata::OtherPdp => Json(json!({
            "policy_decision_point": "https://other-pdp.example.com",
            "access_evaluation_endpoint": evaluation,
        }))
        .into_response(),
        Metadata::Failing => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Metadata::Missing => StatusCode::NOT_FOUND.into_response(),
    }
}

fn record_authorization(pdp: &Pdp, headers: &HeaderMap) {
    let authorization = headers
        .get("authorization")
        .map(|value| value.to_str().unwrap().to_owned());
    pdp.authorizations.lock().unwrap().push(authorization);
}

/// The decision on one question, as [`Answer::Decide`] makes it.
fn decide(question: &Value) -> Value {
    let allowed = question["resource"]["id"]
        .as_str()
        .is_some_and(|id| id.starts_with("allowed"));
    json!({ "decision": allowed })
}

/// The answer `answer` gives in place of decisions, if it gives one.
async fn failure(answer: Answer) -> Option<Response> {
    match answer {
        Answer::Decide | Answer::OneAnswerShort => None,
        Answer::StringDecision => Some(
            Json(json!({ "decision": "true", "evaluations": vec![json!({ "decision": "true" }); 3] }))
                .into_response(),
        ),
        Answer::Slow(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        Answer::Status(status) => Some(
            (
                StatusCode::from_u16(status).unwrap(),
                Json(json!({ "code": 13, "message": "down" })),
            )
                .into_response(),
        ),
        Answer::NotJson => Some("<html>maintenance</html>".into_response()),
        Answer::RepeatedDecision => Some(
            (
                [("content-type", "application/json")],
                r#"{"decision":false,"decision":true}"#,
            )
                .into_response(),
        ),
    }
}

async fn evaluation(
    State(pdp): State<Arc<Pdp>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    pdp.counts.evaluation.fetch_add(1, Ordering::SeqCst);
    record_authorization(&pdp, &headers);
    assert_eq!(body["context"], json!({ "pep": "mcp-auth" }));
    let answer = *pdp.answer.lock().unwrap();
    if let Some(failure) = failure(answer).await {
        return failure;
    }
    Json(decide(&body)).into_response()
}

async fn evaluations(
    State(pdp): State<Arc<Pdp>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    pdp.counts.evaluations.fetch_add(1, Ordering::SeqCst);
    record_authorization(&pdp, &headers);
    assert_eq!(body["context"], json!({ "pep": "mcp-auth" }));
    assert_eq!(body["options"]["evaluations_semantic"], "execute_all");
    let questions = body["evaluations"].as_array().unwrap();
    pdp.batch_sizes.lock().unwrap().push(questions.len());
    let answer = *pdp.answer.lock().unwrap();
    if let Some(failure) = failure(answer).await {
        return failure;
    }
    let mut decisions: Vec<Value> = questions.iter().map(decide).collect();
    if answer == Answer::OneAnswerShort {
        decisions.pop();
    }
    Json(json!({ "evaluations": decisions })).into_response()
}

fn alice() -> AuthInfo {
    AuthInfo::new("https://auth.example.com", ["https://mcp.example.com/mcp"])
        .with_subject("alice")
        .with_roles(["admins"])
}

fn call(tool: &str) -> AccessRequest {
    AccessRequest::tool_call(&alice(), tool, None)
}

#[tokio::test]
async fn a_decision_is_kept_and_answers_the_same_question_again() {
    let pdp = FakePdp::start().await;
    let client = pdp.configured().build().unwrap();
    assert_eq!(client.decide(&call("allowed_echo")).await, Ok(true));
    assert_eq!(client.decide(&call("allowed_echo")).await, Ok(true));
    assert_eq!(pdp.calls(), (0, 1, 0), "the second answer is the kept one");
    assert_eq!(client.decide(&call("admin_report")).await, Ok(false));
    assert_eq!(client.decide(&call("admin_report")).await, Ok(false));
    assert_eq!(pdp.calls(), (0, 2, 0), "a denial is kept too");
    let bob = AccessRequest::tool_call(&alice().with_subject("bob"), "allowed_echo", None);
    assert_eq!(client.decide(&bob).await, Ok(true));
    assert_eq!(pdp.calls(), (0, 3, 0), "another caller is another question");
    let clone = client.clone();
    assert_eq!(clone.decide(&call("allowed_echo")).await, Ok(true));
    assert_eq!(pdp.calls(), (0, 3, 0), "clones share the decisions kept");
}

#[tokio::test]
async fn concurrent_identical_questions_make_one_call() {
    let pdp = FakePdp::start().await;
    pdp.answer(Answer::Slow(Duration::from_millis(200)));
    // Nothing kept: only the single flight can share the answer.
    let client = pdp
        .configured()
        .decision_ttl(Duration::ZERO)
        .build()
        .unwrap();
    let question = call("allowed_echo");
    let decisions = join_all((0..10).map(|_| client.decide(&question))).await;
    assert!(decisions.iter().all(|decision| *decision == Ok(true)));
    assert_eq!(pdp.calls(), (0, 1, 0));
    assert_eq!(client.decide(&question).await, Ok(true));
    assert_eq!(
        pdp.calls(),
        (0, 2, 0),
        "with no TTL, a later question is asked"
    );
}

#[tokio::test]
async fn a_decision_expires_after_its_ttl() {
    let pdp = FakePdp::start().await;
    let client = pdp
        .configured()
        .decision_ttl(Duration::from_millis(300))
        .build()
        .unwrap();
    assert_eq!(client.decide(&call("allowed_echo")).await, Ok(true));
    assert_eq!(client.decide(&call("allowed_echo")).await, Ok(true));
    assert_eq!(pdp.calls(), (0, 1, 0));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(client.decide(&call("allowed_echo")).await, Ok(true));
    assert_eq!(pdp.calls(), (0, 2, 0), "expired, asked again");
}

#[tokio::test]
async fn an_error_is_never_kept() {
    let pdp = FakePdp::start().await;
    let client = pdp.configured().build().unwrap();
    pdp.answer(Answer::Status(500));
    let error = client.decide(&call("allowed_echo")).await.unwrap_err();
    assert!(error.reason().contains("HTTP 500"), "{error}");
    pdp.answer(Answer::Decide);
    assert_eq!(client.decide(&call("allowed_echo")).await, Ok(true));
    assert_eq!(pdp.calls(), (0, 2, 0), "asked again after the error");
}

#[tokio::test]
async fn a_pdp_slower_than_the_timeout_is_an_error_in_time() {
    let pdp = FakePdp::start().await;
    pdp.answer(Answer::Slow(Duration::from_secs(5)));
    let client = pdp
        .configured()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client.decide(&call("allowed_echo")).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(error.reason().contains("200ms"), "{error}");
    let error = client
        .decide_all(&[call("allowed_a"), call("allowed_b")])
        .await
        .unwrap_err();
    assert!(error.reason().contains("200ms"), "{error}");
}

#[tokio::test]
async fn an_answer_that_is_not_a_decision_is_an_error() {
    let pdp = FakePdp::start().await;
    let client = pdp
        .configured()
        .decision_ttl(Duration::ZERO)
        .build()
        .unwrap();
    let list = [call("allowed_a"), call("b"), call("allowed_c")];
    for (answer, why) in [
        (Answer::Status(500), "HTTP 500"),
        (Answer::Status(400), "HTTP 400"),
        (Answer::NotJson, "not JSON"),
        (Answer::RepeatedDecision, "repeats a member"),
        (Answer::StringDecision, "not a boolean"),
    ] {
        pdp.answer(answer);
        let error = client.decide(&call("allowed_echo")).await.unwrap_err();
        assert!(error.reason().contains(why), "{answer:?}: {error}");
        let error = client.decide_all(&list).await.unwrap_err();
        assert!(error.reason().contains(why), "{answer:?}: {error}");
    }
    pdp.answer(Answer::OneAnswerShort);
    let error = client.decide_all(&list).await.unwrap_err();
    assert!(
        error.reason().contains("2 answers to 3 questions"),
        "{error}"
    );
    pdp.answer(Answer::Decide);
    assert_eq!(client.decide_all(&list).await, Ok(vec![true, false, true]));
}

#[tokio::test]
async fn a_refused_token_says_which_setting_to_check() {
    let pdp = FakePdp::start().await;
    pdp.answer(Answer::Status(401));
    let error = pdp
        .configured()
        .build()
        .unwrap()
        .decide(&call("allowed_echo"))
        .await
        .unwrap_err();
    assert!(error.reason().contains("credentials_file"), "{error}");
}

/// A file holding `text`, removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(text: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "mcp-auth-authzen-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::write(&path, text).unwrap();
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn the_credentials_are_sent_and_never_printed_nor_logged() {
    const TOKEN: &str = "pdp-s3cret-4f9a";
    let pdp = FakePdp::start().await;
    let file = TempFile::new(&format!("  {TOKEN}\n"));
    let client = pdp.client().credentials_file(&file.0).build().unwrap();
    let debug = format!("{client:?}");
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(debug.contains("credentials"), "{debug}");

    let (decisions, logs) = logs_at(tracing::Level::TRACE, async {
        let allowed = client.decide(&call("allowed_echo")).await;
        let listed = client.decide_all(&[call("allowed_a"), call("b")]).await;
        pdp.answer(Answer::Status(403));
        let refused = client.decide(&call("allowed_other")).await;
        (allowed, listed, refused)
    })
    .await;
    assert_eq!(decisions.0, Ok(true));
    assert_eq!(decisions.1, Ok(vec![true, false]));
    let error = decisions.2.unwrap_err();
    assert!(!error.to_string().contains(TOKEN), "{error}");
    assert!(error.reason().contains("refused the token"), "{error}");
    assert!(!logs.contains(TOKEN), "{logs}");
    assert!(logs.contains("AuthZEN metadata read"), "{logs}");

    let authorizations = pdp.state.authorizations.lock().unwrap().clone();
    assert_eq!(
        authorizations.len(),
        4,
        "metadata, evaluation, batch, evaluation"
    );
    let expected = format!("Bearer {TOKEN}");
    assert!(
        authorizations
            .iter()
            .all(|sent| sent.as_deref() == Some(expected.as_str())),
        "{authorizations:?}"
    );
}

#[tokio::test]
async fn an_unusable_credentials_file_is_refused_at_build() {
    let empty = TempFile::new(" \n");
    let error = AuthZen::builder("http://127.0.0.1:3592")
        .credentials_file(&empty.0)
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("is empty"), "{error}");
    let two_lines = TempFile::new("first-half\nsecond-half\n");
    let error = AuthZen::builder("http://127.0.0.1:3592")
        .credentials_file(&two_lines.0)
        .build()
        .unwrap_err();
    assert!(!error.to_string().contains("first-half"), "{error}");
    assert!(error.to_string().contains("credentials_file"), "{error}");
}

#[tokio::test]
async fn the_metadata_is_read_once_by_concurrent_first_callers() {
    let pdp = FakePdp::start().await;
    *pdp.state.metadata_delay.lock().unwrap() = Duration::from_millis(200);
    let client = pdp.client().build().unwrap();
    assert_eq!(pdp.calls(), (0, 0, 0), "nothing is fetched at build");
    let questions: Vec<AccessRequest> = (0..5).map(|i| call(&format!("allowed_{i}"))).collect();
    let decisions = join_all(questions.iter().map(|question| client.decide(question))).await;
    assert!(decisions.iter().all(|decision| *decision == Ok(true)));
    assert_eq!(
        client.decide_all(&[call("x"), call("y")]).await,
        Ok(vec![false, false])
    );
    assert_eq!(client.decide(&call("z")).await, Ok(false));
    assert_eq!(pdp.calls(), (1, 6, 1));
}

#[tokio::test]
async fn a_failed_read_of_the_metadata_is_an_error_tried_again_next_time() {
    let pdp = FakePdp::start().await;
    let client = pdp.client().build().unwrap();
    pdp.metadata(Metadata::Failing);
    let error = client.decide(&call("allowed_echo")).await.unwrap_err();
    assert!(error.reason().contains("HTTP 500"), "{error}");
    pdp.metadata(Metadata::Both);
    assert_eq!(client.decide(&call("allowed_echo")).await, Ok(true));
    assert_eq!(pdp.calls(), (2, 1, 0));
}

#[tokio::test]
async fn metadata_naming_another_pdp_is_not_used() {
    let pdp = FakePdp::start().await;
    pdp.metadata(Metadata::OtherPdp);
    let error = pdp
        .client()
        .build()
        .unwrap()
        .decide(&call("allowed_echo"))
        .await
        .unwrap_err();
    assert!(error.reason().contains("other-pdp.example.com"), "{error}");
    assert_eq!(pdp.calls(), (1, 0, 0), "no question sent");
}

#[tokio::test]
async fn a_list_asks_only_the_questions_not_kept_in_batches_of_fifty() {
    let pdp = FakePdp::start().await;
    let client = pdp.configured().build().unwrap();
    assert_eq!(client.decide(&call("allowed_a")).await, Ok(true));
    let list = [call("allowed_a"), call("b"), call("allowed_c")];
    assert_eq!(client.decide_all(&list).await, Ok(vec![true, false, true]));
    assert_eq!(pdp.batch_sizes(), [2], "allowed_a was kept");
    assert_eq!(client.decide_all(&list).await, Ok(vec![true, false, true]));
    assert_eq!(pdp.calls(), (0, 1, 1), "every decision kept");

    let long: Vec<AccessRequest> = (0..60).map(|i| call(&format!("allowed_{i}"))).collect();
    assert_eq!(client.decide_all(&long).await, Ok(vec![true; 60]));
    assert_eq!(pdp.batch_sizes(), [2, 50, 10]);
    assert_eq!(client.decide_all(&[]).await, Ok(vec![]));
    assert_eq!(pdp.calls(), (0, 1, 3));
}

#[tokio::test]
async fn without_a_batch_endpoint_a_list_is_asked_item_by_item() {
    let pdp = FakePdp::start().await;
    pdp.metadata(Metadata::NoBatch);
    let client = pdp.client().build().unwrap();
    let list = [call("allowed_a"), call("b"), call("allowed_c")];
    assert_eq!(client.decide_all(&list).await, Ok(vec![true, false, true]));
    assert_eq!(pdp.calls(), (1, 3, 0));
}

#[tokio::test]
async fn a_given_endpoint_needs_no_metadata() {
    let pdp = FakePdp::start().await;
    pdp.metadata(Metadata::Failing);
    let client = pdp
        .client()
        .evaluation_endpoint(pdp.server.url("/access/v1/evaluation"))
        .build()
        .unwrap();
    assert_eq!(client.decide(&call("allowed_echo")).await, Ok(true));
    assert_eq!(pdp.calls(), (0, 1, 0));
    // The batch endpoint is not given: a list needs the metadata.
    let error = client
        .decide_all(&[call("allowed_a"), call("b")])
        .await
        .unwrap_err();
    assert!(error.reason().contains("metadata"), "{error}");
    // A PDP without metadata has no known batch endpoint: the list is asked item by item.
    pdp.metadata(Metadata::Missing);
    assert_eq!(
        client.decide_all(&[call("allowed_a"), call("b")]).await,
        Ok(vec![true, false])
    );
    assert_eq!(pdp.calls(), (2, 3, 0));
}

#[tokio::test]
async fn a_pdp_without_metadata_and_no_endpoint_given_is_an_error() {
    let pdp = FakePdp::start().await;
    pdp.metadata(Metadata::Missing);
    let client = pdp.client().build().unwrap();
    let error = client.decide(&call("allowed_echo")).await.unwrap_err();
    assert!(error.reason().contains("HTTP 404"), "{error}");
    pdp.metadata(Metadata::Both);
    assert_eq!(
        client.decide(&call("allowed_echo")).await,
        Ok(true),
        "tried again"
    );
}
