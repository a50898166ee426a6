//! Host tests against the shared JSON vectors (test/vectors/*): the program's decoders, Merkle code and
//! hash-to-G1 hint checks must agree byte for byte with the TypeScript protocol code that produced them.
use crate::constants::{DESTRA_DST, ONE, P};
use crate::field::Fp;
use crate::h2c::{hash_to_field, map_to_curve_checked, HINT_LEN};
use crate::merkle::{leaf, root_from_proof, signing_message};
use crate::report::{decode_handover, decode_report};
use serde_json::Value;

fn vectors(path: &str) -> Value {
    let p = format!("{}/../../test/vectors/{}", env!("CARGO_MANIFEST_DIR"), path);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))).unwrap()
}
fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}
fn arr<const N: usize>(v: &Value) -> [u8; N] {
    hx(v).try_into().unwrap()
}

#[test]
fn decodes_every_valid_report_vector() {
    let v = vectors("report/reports.json");
    for case in v["valid"].as_array().unwrap() {
        let bytes = hx(&case["bytes"]);
        let r = decode_report(&bytes).unwrap_or_else(|e| panic!("{}: {e:?}", case["name"]));
        let want = &case["report"];
        assert_eq!(r.kind as u64, want["kind"].as_u64().unwrap());
        assert_eq!(r.epoch.to_string(), want["epoch"].as_str().unwrap());
        assert_eq!(r.id.to_vec(), hx(&want["id"]));
        assert_eq!(r.domain.to_vec(), hx(&want["domain"]));
        assert_eq!(r.dest_chain_type as u64, want["destination"]["chainType"].as_u64().unwrap());
        let outs: Vec<String> = (0..r.output_count as usize).map(|i| r.output_at(i).to_string()).collect();
        let want_outs: Vec<String> = want["output"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
        assert_eq!(outs, want_outs);
        assert_eq!(r.status as u64, want["status"].as_u64().unwrap());
        assert_eq!(r.model_hash.to_vec(), hx(&want["modelHash"]));
        assert_eq!(r.input_hash.to_vec(), hx(&want["inputHash"]));
        assert_eq!(leaf(&bytes).to_vec(), hx(&case["leaf"]));
        assert_eq!(signing_message(1, &leaf(&bytes)).to_vec(), hx(&case["signingMessage"]));
    }
}

#[test]
fn rejects_every_invalid_report_vector() {
    let v = vectors("report/reports.json");
    let invalid = v["invalid"].as_array().unwrap();
    assert!(invalid.len() >= 19);
    for case in invalid {
        let err = decode_report(&hx(&case["bytes"])).err().unwrap_or_else(|| panic!("{} decoded", case["name"]));
        // the vectors name the field in error; status and output-count rules must fail for those reasons
        match case["field"].as_str().unwrap() {
            "status" => assert_eq!(err, crate::report::FormatError::Status, "{}", case["name"]),
            "outputCount" => assert!(matches!(err, crate::report::FormatError::OutputCount | crate::report::FormatError::Length), "{}: {err:?}", case["name"]),
            _ => {}
        }
    }
}

#[test]
fn merkle_proofs_lead_to_the_batch_roots() {
    let v = vectors("report/batches.json");
    for batch in v["batches"].as_array().unwrap() {
        let root: [u8; 32] = arr(&batch["root"]);
        assert_eq!(signing_message(1, &root).to_vec(), hx(&batch["signingMessage"]));
        for r in batch["reports"].as_array().unwrap() {
            let l = leaf(&hx(&r["bytes"]));
            assert_eq!(l.to_vec(), hx(&r["leaf"]));
            let proof: Vec<[u8; 32]> = r["proof"].as_array().unwrap().iter().map(arr::<32>).collect();
            assert_eq!(root_from_proof(&l, &proof), Some(root));
            let mut bad = l;
            bad[0] ^= 1;
            assert_ne!(root_from_proof(&bad, &proof), Some(root));
        }
    }
    assert_eq!(root_from_proof(&[0; 32], &[[0; 32]; 17]), None, "proofs deeper than 16 levels are refused");
}

#[test]
fn decodes_the_handover_vector() {
    let v = vectors("report/handover.json");
    let bytes = hx(&v["bytes"]);
    let h = decode_handover(&bytes).unwrap();
    let want = &v["handover"];
    assert_eq!(h.old_epoch.to_string(), want["oldEpoch"].as_str().unwrap());
    assert_eq!(h.new_epoch.to_string(), want["newEpoch"].as_str().unwrap());
    assert_eq!(h.threshold as u64, want["threshold"].as_u64().unwrap());
    assert_eq!(h.committee_size as u64, want["committeeSize"].as_u64().unwrap());
    assert_eq!(h.group_key.to_vec(), hx(&want["groupKey"]));
    assert_eq!(h.shares_root.to_vec(), hx(&want["sharesRoot"]));
    assert_eq!(h.members_root.to_vec(), hx(&want["membersRoot"]));
    assert_eq!(h.payouts_root.to_vec(), hx(&want["payoutsRoot"]));
    assert_eq!(bytes.len(), 341);
    assert_eq!(bytes[0], 2);
    // the payout table as distribute_fees receives it (Borsh: weights little-endian) hashes to payoutsRoot
    let mut borsh = Vec::new();
    for p in want["payouts"].as_array().unwrap() {
        borsh.extend_from_slice(&hx(&p["payee"]));
        borsh.extend_from_slice(&p["weight"].as_str().unwrap().parse::<u64>().unwrap().to_le_bytes());
    }
    let n = borsh.len() / crate::payout::ENTRY_LEN;
    assert_eq!(crate::payout::table_root(&borsh, n).to_vec(), hx(&want["payoutsRoot"]));
    borsh[32] ^= 1; // a tampered weight
    assert_ne!(crate::payout::table_root(&borsh, n).to_vec(), hx(&want["payoutsRoot"]));
    let digest = crate::syscalls::keccak256(&[&bytes]);
    assert_eq!(signing_message(2, &digest).to_vec(), hx(&v["signingMessage"]));
    let mut bad = bytes.clone();
    bad[48] ^= 1; // newEpoch no longer oldEpoch + 1
    assert!(decode_handover(&bad).is_err());
    assert!(decode_handover(&bytes[..340]).is_err());
    assert!(decode_handover(&bytes[..309]).is_err(), "the v1 length is refused");
    let mut v1 = bytes.clone();
    v1[0] = 1;
    assert!(decode_handover(&v1).is_err(), "version 1 is refused");
}

#[test]
fn hash_to_field_matches_the_bls_vectors() {
    let v = vectors("bls/signatures.json");
    let mut n = 0;
    for case in v["hashToG1"].as_array().unwrap() {
        let dst = case["dst"].as_str().unwrap().as_bytes();
        let (u0, u1) = hash_to_field(&hx(&case["msg"]), dst);
        assert_eq!(u0.to_be_bytes().to_vec(), hx(&case["u0"]), "{}", case["name"]);
        assert_eq!(u1.to_be_bytes().to_vec(), hx(&case["u1"]), "{}", case["name"]);
        n += 1;
    }
    assert!(n > 0);
}

// --- host-only G1 arithmetic to finish hash_to_curve (the program uses the add syscall instead) ---

fn pow(a: &Fp, e: &[u64; 14]) -> Fp {
    let mut r = ONE;
    for i in (0..14).rev() {
        for b in (0..29).rev() {
            r = r.square();
            if (e[i] >> b) & 1 == 1 {
                r = r.mul(a);
            }
        }
    }
    r
}
fn inv(a: &Fp) -> Fp {
    let mut e = P;
    e[0] -= 2;
    pow(a, &e)
}
type Aff = Option<(Fp, Fp)>;
fn add(p: Aff, q: Aff) -> Aff {
    let (Some((x1, y1)), Some((x2, y2))) = (p, q) else { return p.or(q) };
    let lambda = if x1 == x2 {
        if y1 != y2 || y1.is_zero() {
            return None;
        }
        let three = ONE.add(&ONE).add(&ONE);
        three.mul(&x1.square()).mul(&inv(&y1.add(&y1)))
    } else {
        y2.sub(&y1).mul(&inv(&x2.sub(&x1)))
    };
    let x3 = lambda.square().sub(&x1).sub(&x2);
    Some((x3, lambda.mul(&x1.sub(&x3)).sub(&y1)))
}
fn clear_cofactor_host(p: Aff) -> Aff {
    let mut acc: Aff = None;
    for bit in (0..64).rev() {
        acc = add(acc, acc);
        if (crate::constants::H_EFF >> bit) & 1 == 1 {
            acc = add(acc, p);
        }
    }
    acc
}

#[test]
fn hints_verify_and_finish_to_the_expected_hash_point() {
    let v = vectors("solana/h2c_hints.json");
    for case in v["vectors"].as_array().unwrap() {
        let hints: [u8; HINT_LEN] = arr(&case["hints"]);
        let q = map_to_curve_checked(&hx(&case["msg"]), DESTRA_DST, &hints).unwrap_or_else(|e| panic!("{}: {e:?}", case["name"]));
        assert_eq!(q.to_vec(), hx(&case["preCofactor"]));
        let x = Fp::from_be_bytes(q[..48].try_into().unwrap()).unwrap();
        let y = Fp::from_be_bytes(q[48..].try_into().unwrap()).unwrap();
        let (hx_, hy) = clear_cofactor_host(Some((x, y))).unwrap();
        let mut got = hx_.to_be_bytes().to_vec();
        got.extend_from_slice(&hy.to_be_bytes());
        assert_eq!(got, hx(&case["point"]), "{}", case["name"]);

        // every single-byte change to the hints is refused (or, for a non-canonical byte, fails to parse)
        for at in [0usize, 47, 60, 100, 150, 200, 250, 300, 335] {
            let mut bad = hints;
            bad[at] ^= 0x01;
            let ok = map_to_curve_checked(&hx(&case["msg"]), DESTRA_DST, &bad).is_ok();
            assert!(!ok, "{}: flipped hint byte {at} accepted", case["name"]);
        }
        // hints for one message do not verify another
        assert!(map_to_curve_checked(b"another message", DESTRA_DST, &hints).is_err());
    }
}

#[test]
fn field_encoding_is_canonical() {
    let p_be: [u8; 48] = hex::decode("1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab").unwrap().try_into().unwrap();
    assert!(Fp::from_be_bytes(&p_be).is_none(), "p itself is not a field element");
    let mut pm1 = p_be;
    pm1[47] -= 1;
    let x = Fp::from_be_bytes(&pm1).unwrap();
    assert_eq!(x.to_be_bytes(), pm1);
    assert_eq!(x.add(&ONE), Fp::ZERO);
    assert_eq!(x.mul(&x), ONE, "(-1)^2 = 1");
    let a = Fp::from_be_bytes_wide(&[0xff; 64]);
    assert_eq!(a.mul(&inv(&a)), ONE);
}

#[test]
fn program_data_header_names_the_upgrade_authority() {
    use crate::error::OracleError;
    use crate::loader::{upgrade_authority, PROGRAM_DATA_HEADER};
    let mut d = vec![0u8; PROGRAM_DATA_HEADER + 4];
    d[..4].copy_from_slice(&3u32.to_le_bytes());
    d[4..12].copy_from_slice(&77u64.to_le_bytes());
    d[12] = 1;
    d[13..45].copy_from_slice(&[9u8; 32]);
    assert_eq!(upgrade_authority(&d), Ok(Some(&[9u8; 32])));
    d[12] = 0; // immutable program: nobody may initialise
    assert_eq!(upgrade_authority(&d), Ok(None));
    d[12] = 2;
    assert_eq!(upgrade_authority(&d), Err(OracleError::WrongAccount));
    d[12] = 1;
    d[0] = 2; // the Program account (tag 2), not its ProgramData
    assert_eq!(upgrade_authority(&d), Err(OracleError::WrongAccount));
    d[0] = 3;
    assert_eq!(upgrade_authority(&d[..44]), Err(OracleError::WrongAccount), "truncated header");
}

#[test]
fn loader_id_is_the_upgradeable_loader() {
    // base58 "BPFLoaderUpgradeab1e11111111111111111111111"
    assert_eq!(hex::encode(crate::constants::BPF_LOADER_UPGRADEABLE_ID), "02a8f6914e88a1b0e210153ef763ae2b00c2b93d16c124d2c0537a1004800000");
}

#[test]
fn the_client_crate_reads_this_programs_layout() {
    // destra_client (what consumer programs depend on) must read the offsets this program writes
    use crate::state::{config, request, result};
    use destra_client::layout as c;
    let r = [result::ID, result::KIND, result::EPOCH, result::MODEL_HASH, result::INPUT_HASH, result::TIMESTAMP, result::ROUND, result::OUTPUT_COUNT, result::OUTPUTS, result::POSTED_SLOT, result::REPORT_LEAF, result::BUMP, result::STATUS, result::LEN];
    let rc = [c::result::ID, c::result::KIND, c::result::EPOCH, c::result::MODEL_HASH, c::result::INPUT_HASH, c::result::TIMESTAMP, c::result::ROUND, c::result::OUTPUT_COUNT, c::result::OUTPUTS, c::result::POSTED_SLOT, c::result::REPORT_LEAF, c::result::BUMP, c::result::STATUS, c::result::LEN];
    assert_eq!(r, rc);
    let q = [request::REQUESTER, request::NONCE, request::MODEL_HASH, request::INPUT_HASH, request::FEE, request::STATUS, request::CREATED_SLOT, request::INPUT_LEN, request::INPUT, request::MAX_INPUT, request::BUMP, request::DEADLINE_SLOT, request::SEQ, request::LEN];
    let qc = [c::request::REQUESTER, c::request::NONCE, c::request::MODEL_HASH, c::request::INPUT_HASH, c::request::FEE, c::request::STATUS, c::request::CREATED_SLOT, c::request::INPUT_LEN, c::request::INPUT, c::request::MAX_INPUT, c::request::BUMP, c::request::DEADLINE_SLOT, c::request::SEQ, c::request::LEN];
    assert_eq!(q, qc);
    assert_eq!([config::EPOCH, config::REQUEST_FEE, config::REQUEST_SEQ, config::LEN], [c::config::EPOCH, c::config::REQUEST_FEE, c::config::REQUEST_SEQ, c::config::LEN]);
    assert_eq!(result::DISC, destra_client::ORACLE_DISC_ACC_REPORT_RESULT);
    assert_eq!(request::DISC, destra_client::ORACLE_DISC_ACC_INFERENCE_REQUEST);
    assert_eq!(config::DISC, destra_client::ORACLE_DISC_ACC_ORACLE_CONFIG);
    assert_eq!(crate::constants::DISC_IX_REQUEST_INFERENCE, destra_client::ORACLE_DISC_IX_REQUEST_INFERENCE);
    assert_eq!((crate::state::SEED_RESULT, crate::state::SEED_REQUEST), (c::SEED_RESULT, c::SEED_REQUEST));
}
