//! `request_inference` for a CPI: instruction data and the account order the oracle expects.
use crate::constants::ORACLE_DISC_IX_REQUEST_INFERENCE;
use crate::layout::SEED_REQUEST;

/// Largest input the oracle accepts (bytes; a multiple of 8, int64 values).
pub const MAX_INPUT: usize = crate::layout::request::MAX_INPUT;
/// discriminator + nonce + model hash + Borsh length + input
pub const REQUEST_INFERENCE_MAX_DATA: usize = 8 + 8 + 32 + 4 + MAX_INPUT;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpiError {
    /// empty, longer than MAX_INPUT, or not a whole number of int64 values
    BadInput,
    /// the buffer is shorter than the instruction data
    BufferTooSmall,
    /// instruction data that is not request_inference or is malformed
    Malformed,
}

/// One account of the CPI, in order; `signer`/`writable` are what the oracle requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountRole {
    pub name: &'static str,
    pub signer: bool,
    pub writable: bool,
}

/// requester (pays the fee and rent, signs), config PDA ["config"] (the request counter), request PDA
/// ["request", requester, nonce LE], vault PDA ["vault"], system program.
pub const REQUEST_INFERENCE_ACCOUNTS: [AccountRole; 5] = [
    AccountRole { name: "requester", signer: true, writable: true },
    AccountRole { name: "config", signer: false, writable: true },
    AccountRole { name: "request", signer: false, writable: true },
    AccountRole { name: "vault", signer: false, writable: true },
    AccountRole { name: "system_program", signer: false, writable: false },
];

/// The arguments of `request_inference`. `input` is the model's input codec output: int64 big-endian
/// fixed-point values (docs/api.md "Inputs"; `destra models encode` prints it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestInference<'a> {
    pub nonce: u64,
    pub model_hash: [u8; 32],
    pub input: &'a [u8],
}

impl<'a> RequestInference<'a> {
    pub fn check(&self) -> Result<(), CpiError> {
        if self.input.is_empty() || self.input.len() > MAX_INPUT || self.input.len() % 8 != 0 {
            return Err(CpiError::BadInput);
        }
        Ok(())
    }

    /// Writes the instruction data into `buf`; returns the used prefix.
    pub fn encode<'b>(&self, buf: &'b mut [u8]) -> Result<&'b [u8], CpiError> {
        self.check()?;
        let n = 8 + 8 + 32 + 4 + self.input.len();
        if buf.len() < n {
            return Err(CpiError::BufferTooSmall);
        }
        buf[..8].copy_from_slice(&ORACLE_DISC_IX_REQUEST_INFERENCE);
        buf[8..16].copy_from_slice(&self.nonce.to_le_bytes());
        buf[16..48].copy_from_slice(&self.model_hash);
        buf[48..52].copy_from_slice(&(self.input.len() as u32).to_le_bytes());
        buf[52..n].copy_from_slice(self.input);
        Ok(&buf[..n])
    }

    /// Parses the instruction's arguments (the bytes after the discriminator), e.g. a program that
    /// forwards its caller's request; rejects trailing bytes and inputs the oracle would refuse.
    pub fn decode_args(args: &'a [u8]) -> Result<Self, CpiError> {
        if args.len() < 8 + 32 + 4 {
            return Err(CpiError::Malformed);
        }
        let mut nonce = [0u8; 8];
        nonce.copy_from_slice(&args[..8]);
        let mut model_hash = [0u8; 32];
        model_hash.copy_from_slice(&args[8..40]);
        let len = u32::from_le_bytes([args[40], args[41], args[42], args[43]]) as usize;
        if args.len() != 44 + len {
            return Err(CpiError::Malformed);
        }
        let r = RequestInference { nonce: u64::from_le_bytes(nonce), model_hash, input: &args[44..] };
        r.check()?;
        Ok(r)
    }

    /// Parses whole instruction data (discriminator included).
    pub fn decode(data: &'a [u8]) -> Result<Self, CpiError> {
        if data.len() < 8 || data[..8] != ORACLE_DISC_IX_REQUEST_INFERENCE {
            return Err(CpiError::Malformed);
        }
        Self::decode_args(&data[8..])
    }

    #[cfg(any(feature = "std", test))]
    pub fn to_vec(&self) -> Result<std::vec::Vec<u8>, CpiError> {
        let mut buf = [0u8; REQUEST_INFERENCE_MAX_DATA];
        Ok(self.encode(&mut buf)?.to_vec())
    }
}

/// Seeds of the request PDA (derive with the oracle program id); `nonce_le` = nonce.to_le_bytes().
pub fn request_seeds<'a>(requester: &'a [u8; 32], nonce_le: &'a [u8; 8]) -> [&'a [u8]; 3] {
    [SEED_REQUEST, requester, nonce_le]
}
