use blst::min_sig::{PublicKey, SecretKey, Signature};
use blst::{blst_p1, blst_p1_affine, blst_scalar, MultiPoint, BLST_ERROR};
use napi::bindgen_prelude::*;
use napi_derive::napi;

fn bad(what: &str) -> Error {
    Error::new(Status::InvalidArg, what.to_string())
}

/// hash_to_curve(msg) in G1 (RFC 9380 BLS12381G1_XMD:SHA-256_SSWU_RO_ with `dst`), 48 bytes compressed.
#[napi]
pub fn hash_to_g1(msg: &[u8], dst: &[u8]) -> Buffer {
    let mut p = blst_p1::default();
    let mut out = [0u8; 48];
    unsafe {
        blst::blst_hash_to_g1(&mut p, msg.as_ptr(), msg.len(), dst.as_ptr(), dst.len(), core::ptr::null(), 0);
        blst::blst_p1_compress(out.as_mut_ptr(), &p);
    }
    out.to_vec().into()
}

/// H(msg)·sk for a 32-byte big-endian scalar in [1, r): a signature (or a partial signature by a share).
#[napi]
pub fn sign(scalar: &[u8], msg: &[u8], dst: &[u8]) -> Result<Buffer> {
    let sk = SecretKey::from_bytes(scalar).map_err(|_| bad("scalar must be 32 bytes, big-endian, in [1, r)"))?;
    Ok(sk.sign(msg, dst, &[]).compress().to_vec().into())
}

/// e(sig, -g2)·e(H(msg), pk) == 1. `pk` is a compressed G2 key the caller already validated; the
/// signature is decoded and subgroup-checked here. Malformed bytes verify as false.
#[napi]
pub fn verify(pk: &[u8], msg: &[u8], dst: &[u8], sig: &[u8]) -> bool {
    let (Ok(pk), Ok(sig)) = (PublicKey::from_bytes(pk), Signature::from_bytes(sig)) else { return false };
    sig.verify(true, msg, dst, &[], &pk, false) == BLST_ERROR::BLST_SUCCESS
}

/// Random-linear-combination check that every sigs[i] is a signature by pks[i] over the same msg
/// (one multi-pairing). `rands` holds 8 random bytes per signature. False if any is wrong or malformed.
#[napi]
pub fn verify_same_message(pks: Vec<Buffer>, sigs: Vec<Buffer>, msg: &[u8], dst: &[u8], rands: &[u8]) -> Result<bool> {
    let msgs: Vec<&[u8]> = vec![msg; sigs.len()];
    verify_all(&pks, &sigs, &msgs, dst, rands)
}

/// Like verify_same_message, but sigs[i] is over msgs[i]: one Miller loop per entry and a single final
/// exponentiation for all of them (late partials of many rounds, many Combined results).
#[napi]
pub fn verify_multiple(pks: Vec<Buffer>, sigs: Vec<Buffer>, msgs: Vec<Buffer>, dst: &[u8], rands: &[u8]) -> Result<bool> {
    if msgs.len() != sigs.len() {
        return Err(bad("need one message per signature"));
    }
    let msg_refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_ref()).collect();
    if pks.len() != sigs.len() || rands.len() != 8 * sigs.len() || sigs.is_empty() {
        return Err(bad("need one key, one signature and 8 random bytes per entry"));
    }
    // Entries under one key (the group key of many Combined results; a member's late partials of many
    // rounds) share one Miller loop: e(-Σ rᵢσᵢ, g2) · Π_pk e(Σ_{i∈pk} rᵢH(mᵢ), pk) == 1.
    match verify_grouped_by_key(&pks, &sigs, &msg_refs, dst, rands) {
        Some(ok) => Ok(ok),
        None => verify_all(&pks, &sigs, &msg_refs, dst, rands),
    }
}

/// r·P for a 64-bit little-endian scalar (never zero: the low bit is set).
fn p1_mult64(p: &blst_p1, r: &[u8]) -> blst_p1 {
    let mut le = [0u8; 8];
    le.copy_from_slice(r);
    le[0] |= 1;
    let mut out = blst_p1::default();
    unsafe { blst::blst_p1_mult(&mut out, p, le.as_ptr(), 64) };
    out
}

/// The random-linear-combination check with one Miller loop per distinct key (plus one for the
/// signatures). Some(false) when a signature or key is malformed, outside its subgroup, or the check
/// fails; None when a point at infinity turned up (left to the per-entry path).
fn verify_grouped_by_key(pks: &[Buffer], sigs: &[Buffer], msgs: &[&[u8]], dst: &[u8], rands: &[u8]) -> Option<bool> {
    let mut sig_sum = blst_p1::default();
    // Keys in first-seen order with the running Σ rᵢH(mᵢ) of their entries.
    let mut groups: Vec<(&[u8], blst_p1)> = Vec::new();
    for i in 0..sigs.len() {
        let mut sig = blst_p1_affine::default();
        let s = sigs[i].as_ref();
        if s.len() != 48 || unsafe { blst::blst_p1_uncompress(&mut sig, s.as_ptr()) } != BLST_ERROR::BLST_SUCCESS {
            return Some(false);
        }
        if unsafe { blst::blst_p1_affine_is_inf(&sig) } {
            return None;
        }
        if !unsafe { blst::blst_p1_affine_in_g1(&sig) } {
            return Some(false);
        }
        let r = &rands[8 * i..8 * i + 8];
        let mut sig_p = blst_p1::default();
        unsafe { blst::blst_p1_from_affine(&mut sig_p, &sig) };
        let rs = p1_mult64(&sig_p, r);
        unsafe { blst::blst_p1_add_or_double(&mut sig_sum, &sig_sum, &rs) };
        let mut h = blst_p1::default();
        unsafe { blst::blst_hash_to_g1(&mut h, msgs[i].as_ptr(), msgs[i].len(), dst.as_ptr(), dst.len(), core::ptr::null(), 0) };
        let rh = p1_mult64(&h, r);
        let pk = pks[i].as_ref();
        match groups.iter_mut().find(|(k, _)| *k == pk) {
            Some((_, acc)) => unsafe { blst::blst_p1_add_or_double(acc, acc, &rh) },
            None => groups.push((pk, rh)),
        }
    }
    unsafe { blst::blst_p1_cneg(&mut sig_sum, true) };
    let mut sig_aff = blst_p1_affine::default();
    unsafe { blst::blst_p1_to_affine(&mut sig_aff, &sig_sum) };
    if unsafe { blst::blst_p1_affine_is_inf(&sig_aff) } {
        return None;
    }
    let mut acc = blst::blst_fp12::default();
    unsafe { blst::blst_miller_loop(&mut acc, blst::blst_p2_affine_generator(), &sig_aff) };
    for (pk, sum) in &groups {
        let mut key = blst::blst_p2_affine::default();
        if pk.len() != 96 || unsafe { blst::blst_p2_uncompress(&mut key, pk.as_ptr()) } != BLST_ERROR::BLST_SUCCESS {
            return Some(false);
        }
        let mut h = blst_p1_affine::default();
        unsafe { blst::blst_p1_to_affine(&mut h, sum) };
        if unsafe { blst::blst_p1_affine_is_inf(&h) || blst::blst_p2_affine_is_inf(&key) } {
            return None;
        }
        let mut ml = blst::blst_fp12::default();
        unsafe {
            blst::blst_miller_loop(&mut ml, &key, &h);
            blst::blst_fp12_mul(&mut acc, &acc, &ml);
        }
    }
    let mut out = blst::blst_fp12::default();
    unsafe { blst::blst_final_exp(&mut out, &acc) };
    Some(unsafe { blst::blst_fp12_is_one(&out) })
}

fn verify_all(pks: &[Buffer], sigs: &[Buffer], msgs: &[&[u8]], dst: &[u8], rands: &[u8]) -> Result<bool> {
    if pks.len() != sigs.len() || rands.len() != 8 * sigs.len() || sigs.is_empty() {
        return Err(bad("need one key, one signature and 8 random bytes per entry"));
    }
    let mut keys = Vec::with_capacity(pks.len());
    let mut signatures = Vec::with_capacity(sigs.len());
    for (pk, sig) in pks.iter().zip(sigs.iter()) {
        let (Ok(pk), Ok(sig)) = (PublicKey::from_bytes(pk), Signature::from_bytes(sig)) else { return Ok(false) };
        keys.push(pk);
        signatures.push(sig);
    }
    let scalars: Vec<blst_scalar> = rands
        .chunks(8)
        .map(|r| {
            let mut s = blst_scalar::default();
            let mut le = [0u8; 32];
            le[..8].copy_from_slice(r);
            le[0] |= 1; // never zero
            unsafe { blst::blst_scalar_from_lendian(&mut s, le.as_ptr()) };
            s
        })
        .collect();
    let key_refs: Vec<&PublicKey> = keys.iter().collect();
    let sig_refs: Vec<&Signature> = signatures.iter().collect();
    let r = Signature::verify_multiple_aggregate_signatures(msgs, dst, &key_refs, false, &sig_refs, true, &scalars, 64);
    Ok(r == BLST_ERROR::BLST_SUCCESS)
}

/// Σ scalars[i]·points[i] over compressed G1 points (Lagrange combination of partial signatures).
/// Returns null when a point is malformed, or the sum is the identity or outside the prime-order
/// subgroup (some partial carried a torsion component).
#[napi]
pub fn g1_linear_combination(points: Vec<Buffer>, scalars: Vec<Buffer>) -> Result<Option<Buffer>> {
    if points.len() != scalars.len() || points.is_empty() {
        return Err(bad("need one 32-byte scalar per point"));
    }
    let mut affines = Vec::with_capacity(points.len());
    let mut le = Vec::with_capacity(32 * scalars.len());
    for (p, s) in points.iter().zip(scalars.iter()) {
        if s.len() != 32 {
            return Err(bad("scalars are 32 bytes, big-endian"));
        }
        let mut aff = blst_p1_affine::default();
        if p.len() != 48 || unsafe { blst::blst_p1_uncompress(&mut aff, p.as_ptr()) } != BLST_ERROR::BLST_SUCCESS {
            return Ok(None);
        }
        affines.push(aff);
        le.extend(s.iter().rev());
    }
    // One multi-scalar multiplication; the sum is subgroup-checked once instead of every input (a torsion
    // component that survives the sum makes it fail, and the caller then checks the partials one by one).
    let acc = affines.as_slice().mult(&le, 255);
    let mut sum = blst_p1_affine::default();
    unsafe { blst::blst_p1_to_affine(&mut sum, &acc) };
    if unsafe { blst::blst_p1_is_inf(&acc) } || !unsafe { blst::blst_p1_affine_in_g1(&sum) } {
        return Ok(None);
    }
    let mut out = [0u8; 48];
    unsafe { blst::blst_p1_compress(out.as_mut_ptr(), &acc) };
    Ok(Some(out.to_vec().into()))
}

/// Compressed G1 point (48 bytes) → affine x ‖ y (96 bytes, big-endian), after checking it is a valid
/// point in the prime-order subgroup and not the identity; null otherwise (the caller names the fault).
#[napi]
pub fn g1_uncompress(bytes: &[u8]) -> Option<Buffer> {
    if bytes.len() != 48 {
        return None;
    }
    let mut p = blst_p1_affine::default();
    unsafe {
        if blst::blst_p1_uncompress(&mut p, bytes.as_ptr()) != BLST_ERROR::BLST_SUCCESS
            || !blst::blst_p1_affine_in_g1(&p)
            || blst::blst_p1_affine_is_inf(&p)
        {
            return None;
        }
        let mut out = [0u8; 96];
        blst::blst_p1_affine_serialize(out.as_mut_ptr(), &p);
        Some(out.to_vec().into())
    }
}
