//! Host tests against test/vectors/solana/accounts.json (bytes from the IDL's Anchor coder).
use crate::*;
use serde_json::Value;

const ORACLE: Pubkey = [9u8; 32];

fn vectors() -> Value {
    let p = format!("{}/../../test/vectors/solana/accounts.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))).unwrap()
}
fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}
fn num<T: core::str::FromStr>(v: &Value) -> T
where
    T::Err: core::fmt::Debug,
{
    v.as_str().unwrap().parse().unwrap()
}

#[test]
fn reads_every_field_the_anchor_coder_wrote() {
    let v = vectors();
    for c in v["results"].as_array().unwrap() {
        let data = bytes(&c["data"]);
        let name = c["name"].as_str().unwrap();
        let r = match read_result(&ORACLE, &data, &ORACLE, Freshness::Any) {
            Ok(r) => r,
            Err(e) => {
                assert_ne!(c["status"].as_u64().unwrap(), 0, "{name}: {e:?}");
                assert_eq!(e, ReadError::Failed, "{name}");
                continue;
            }
        };
        assert_eq!(r.id().to_vec(), bytes(&c["id"]), "{name}");
        assert_eq!(r.kind() as u64, c["kind"].as_u64().unwrap(), "{name}");
        assert_eq!(r.epoch(), num::<u64>(&c["epoch"]), "{name}");
        assert_eq!(r.model_hash().to_vec(), bytes(&c["modelHash"]), "{name}");
        assert_eq!(r.input_hash().to_vec(), bytes(&c["inputHash"]), "{name}");
        assert_eq!(r.timestamp(), num::<u64>(&c["timestamp"]), "{name}");
        assert_eq!(r.round(), num::<u64>(&c["round"]), "{name}");
        assert_eq!(r.posted_slot(), num::<u64>(&c["postedSlot"]), "{name}");
        assert_eq!(r.report_leaf().to_vec(), bytes(&c["reportLeaf"]), "{name}");
        let want: Vec<i64> = c["outputs"].as_array().unwrap().iter().map(num::<i64>).collect();
        assert_eq!(r.outputs().collect::<Vec<_>>(), want, "{name}");
        assert_eq!(r.output(want.len()), None, "{name}");
    }
}

fn feed() -> (Vec<u8>, [u8; 32]) {
    let v = vectors();
    let c = &v["results"][0];
    assert_eq!(c["name"], "feed answer");
    (bytes(&c["data"]), bytes(&c["id"]).try_into().unwrap())
}

#[test]
fn refuses_a_look_alike_account_owned_by_another_program() {
    // an attacker copies a genuine result's bytes into an account of its own program
    let (data, id) = feed();
    let attacker = [7u8; 32];
    assert_eq!(read_result(&attacker, &data, &ORACLE, Freshness::Any).unwrap_err(), ReadError::WrongOwner);
    assert_eq!(read_feed(&attacker, &data, &ORACLE, &id, Freshness::Any).unwrap_err(), ReadError::WrongOwner);
}

#[test]
fn refuses_other_oracle_accounts_and_truncated_data() {
    let (mut data, id) = feed();
    assert_eq!(read_result(&ORACLE, &data[..data.len() - 1], &ORACLE, Freshness::Any).unwrap_err(), ReadError::NotAResult);
    let mut longer = data.clone();
    longer.push(0);
    assert_eq!(read_result(&ORACLE, &longer, &ORACLE, Freshness::Any).unwrap_err(), ReadError::NotAResult);
    data[..8].copy_from_slice(&ORACLE_DISC_ACC_INFERENCE_REQUEST);
    assert_eq!(read_feed(&ORACLE, &data, &ORACLE, &id, Freshness::Any).unwrap_err(), ReadError::NotAResult);
}

#[test]
fn a_feed_read_checks_kind_and_id() {
    let (data, id) = feed();
    assert_eq!(read_feed(&ORACLE, &data, &ORACLE, &id, Freshness::Any).unwrap().output(0), Some(731_000));
    let mut other = id;
    other[0] ^= 1;
    assert_eq!(read_feed(&ORACLE, &data, &ORACLE, &other, Freshness::Any).unwrap_err(), ReadError::WrongId);
    let v = vectors();
    let req = &v["results"][1];
    let req_id: [u8; 32] = bytes(&req["id"]).try_into().unwrap();
    assert_eq!(read_feed(&ORACLE, &bytes(&req["data"]), &ORACLE, &req_id, Freshness::Any).unwrap_err(), ReadError::WrongKind);
}

#[test]
fn failure_reports_and_empty_outputs_are_not_answers() {
    let v = vectors();
    let failed = &v["results"][2];
    assert_eq!(read_result(&ORACLE, &bytes(&failed["data"]), &ORACLE, Freshness::Any).unwrap_err(), ReadError::Failed);
    let (mut data, _) = feed();
    data[layout::result::OUTPUT_COUNT..layout::result::OUTPUT_COUNT + 2].copy_from_slice(&[0, 0]);
    assert_eq!(read_result(&ORACLE, &data, &ORACLE, Freshness::Any).unwrap_err(), ReadError::NoOutputs);
}

#[test]
fn staleness_by_slots_and_by_seconds() {
    let (data, _) = feed(); // posted_slot 1000, timestamp 1_760_000_000
    let slots = |now_slot, max_age_slots| read_result(&ORACLE, &data, &ORACLE, Freshness::Slots { now_slot, max_age_slots }).map(|r| r.round());
    assert_eq!(slots(1_100, 100), Ok(42));
    assert_eq!(slots(1_101, 100), Err(ReadError::Stale));
    assert_eq!(slots(900, 0), Ok(42)); // a clock behind the post is age 0
    let secs = |now_unix, max_age_secs| read_result(&ORACLE, &data, &ORACLE, Freshness::Seconds { now_unix, max_age_secs }).map(|r| r.round());
    assert_eq!(secs(1_760_000_060, 60), Ok(42));
    assert_eq!(secs(1_760_000_061, 60), Err(ReadError::Stale));
}

#[test]
fn request_inference_data_matches_the_anchor_coder() {
    let v = vectors();
    for c in v["requests"].as_array().unwrap() {
        let input = bytes(&c["input"]);
        let r = RequestInference { nonce: num(&c["nonce"]), model_hash: bytes(&c["modelHash"]).try_into().unwrap(), input: &input };
        let want = bytes(&c["data"]);
        assert_eq!(r.to_vec().unwrap(), want);
        assert_eq!(RequestInference::decode(&want).unwrap(), r);
        assert_eq!(RequestInference::decode_args(&want[8..]).unwrap(), r);
    }
}

#[test]
fn request_inference_refuses_what_the_oracle_would() {
    let hash = [1u8; 32];
    for input in [&[][..], &[0u8; 7][..], &[0u8; 520][..]] {
        assert_eq!(RequestInference { nonce: 1, model_hash: hash, input }.to_vec().unwrap_err(), CpiError::BadInput);
    }
    let ok = RequestInference { nonce: 1, model_hash: hash, input: &[0u8; 16] };
    assert_eq!(ok.encode(&mut [0u8; 60]).unwrap_err(), CpiError::BufferTooSmall);
    let data = ok.to_vec().unwrap();
    let mut trailing = data.clone();
    trailing.push(0);
    assert_eq!(RequestInference::decode(&trailing).unwrap_err(), CpiError::Malformed);
    // a length prefix larger than the bytes sent (a caller lying about its input)
    let mut lying = data.clone();
    lying[48] = 200;
    assert_eq!(RequestInference::decode(&lying).unwrap_err(), CpiError::Malformed);
    let mut other_ix = data;
    other_ix[0] ^= 1;
    assert_eq!(RequestInference::decode(&other_ix).unwrap_err(), CpiError::Malformed);
    assert_eq!(REQUEST_INFERENCE_ACCOUNTS.iter().filter(|a| a.signer).count(), 1);
}
