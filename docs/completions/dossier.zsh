#compdef dossier

__dossier_complete() {
    local -ar non_empty_completions=("${@:#(|:*)}")
    local -ar empty_completions=("${(M)@:#(|:*)}")
    _describe -V '' non_empty_completions -- empty_completions -P $'\'\''
}

__dossier_custom_complete() {
    local -a completions
    completions=("${(@f)"$("${command_name}" "${@}" "${command_line[@]}")"}")
    if [[ "${#completions[@]}" -gt 1 ]]; then
        __dossier_complete "${completions[@]:0:-1}"
    fi
}

__dossier_cursor_index_in_current_word() {
    if [[ -z "${QIPREFIX}${IPREFIX}${PREFIX}" ]]; then
        printf 0
    else
        printf %s "${#${(z)LBUFFER}[-1]}"
    fi
}

_dossier() {
    emulate -RL zsh -G
    setopt extendedglob nullglob numericglobsort
    unsetopt aliases banghist

    local -xr SAP_SHELL=zsh
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(builtin emulate zsh -c 'printf %s "${ZSH_VERSION}"')"
    local -r SAP_SHELL_VERSION

    local context state state_descr line
    local -A opt_args

    local -r command_name="${words[1]}"
    local -ar command_line=("${words[@]}")
    local -ir current_word_index="$((CURRENT - 1))"

    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
        '(-): :->command'
        '(-)*:: :->arg'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0
    case "${state}" in
    command)
        local -ar subcommands=(
            'keygen:Create an encryption identity and a signing key.'
            'check:Check a case folder against its profile (the standard template) before sealing.'
            'seal:Seal a case folder (or a zip / tar / 7z archive) into a signed, encrypted .dossier file.'
            'verify:Verify dossiers with public keys only (an inspector'\''s command).'
            'open:Open a dossier with an identity into a new folder.'
            'list:List a dossier'\''s documents (paths, sizes, media types) without opening any.'
            'inspect:Show a dossier'\''s public manifest, signers, recipients and sizes, without keys.'
            'log:Show, verify, export or import a dossier'\''s access log.'
            'checkpoint:Sign a checkpoint of the whole access log (size and Merkle root) to hand to inspectors or publish.'
            'countersign:Add a signature (e.g. the receiving archive'\''s) to a sealed dossier.'
            'rewrap:Transfer a dossier: re-encrypt its key for new recipients, keeping all signatures valid.'
            'version:Print the versions of dossier, OpenSSL and libarchive.'
            'help:Show subcommand help information.'
        )
        _describe -V subcommand subcommands && ret=0
        ;;
    arg)
        case "${words[1]}" in
        keygen|check|seal|verify|open|list|inspect|log|checkpoint|countersign|rewrap|version|help)
            "_dossier_${words[1]}" && ret=0
            ;;
        esac
        ;;
    esac

    return "${ret}"
}

_dossier_keygen() {
    local -i ret=1
    local -ar arg_specs=(
        ':prefix:'
        '--name[The key holder'\''s name, recorded in the signing key and its signatures.]:name:'
        '--protect[Protect the secret files with a passphrase.]'
        '--passphrase-fd[Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.]:fd:'
        '--json[Print the public parts as JSON.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_dossier_check() {
    local -i ret=1
    local -ar arg_specs=(
        ':folder:'
        '--profile[The profile\: a JSON file, or a name in the profiles folder.]:profile:'
        '--profiles[A folder of named profiles (NAME.json). Default\: $DOSSIER_PROFILES.]:folder:'
        '--all[Print every rule, not only the failed ones.]'
        '--json[Print the report as JSON.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_dossier_seal() {
    local -i ret=1
    local -ar arg_specs=(
        ':source:'
        '*'{-r,--recipient}'[An age recipient (age1...) who may open the dossier (repeatable).]:recipient:'
        '*'{-R,--recipients-file}'[A file of age recipients, one per line (repeatable).]:file:'
        '*'{-s,--sign}'[A signing key that signs as sealer (repeatable).]:keyfile:'
        '*--signer[A further signer as ROLE=KEYFILE, e.g. approver=keys/otto.sign; a bare KEYFILE signs as approver (repeatable).]:role=keyfile:'
        '--id[The dossier id, sealed once (default\: the source folder'\''s name, or the archive'\''s name without its extension).]:id:'
        '*--public[Metadata to publish in the manifest as KEY=VALUE (repeatable; visible without a key).]:key=value:'
        '--level[zstd compression level, 1-19.]:level:'
        '(--output -o)'{--output,-o}'[The .dossier file to write.]:file:'
        '--force[Replace an existing output file.]'
        '--passphrase-fd[Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.]:fd:'
        '--log[The access log (SQLite ledger). Default\: $DOSSIER_LOG, else ~/.local/share/dossier/access-log.sqlite.]:file:'
        '--as[Who acts, as ROLE=KEYFILE or KEYFILE (signs the log entry). Default\: $DOSSIER_ACTOR.]:role=keyfile:'
        '--profile[The profile\: a JSON file, or a name in the profiles folder.]:profile:'
        '--profiles[A folder of named profiles (NAME.json). Default\: $DOSSIER_PROFILES.]:folder:'
        '--override-profile[Seal although the folder fails its profile; the reason goes into the manifest and the access log.]:reason:'
        '--purpose[Why the dossier is sealed (recorded in the access log).]:purpose:'
        '--json[Print the result as JSON.]'
        '(--quiet -q)'{--quiet,-q}'[Print nothing but errors.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_dossier_verify() {
    local -i ret=1
    local -ar arg_specs=(
        '*:file:'
        '--trust[Trust file\: one "ROLES PUBLIC-KEY NAME" line per trusted key (default\: $DOSSIER_TRUST).]:file:'
        '*--require-role[A role that needs a valid trusted signature (repeatable; default\: sealer).]:role:'
        '*'{-i,--identity}'[An identity file for a deep check of the content (repeatable).]:file:'
        '--passphrase-fd[Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.]:fd:'
        '--json[Print one JSON report per line.]'
        '(--quiet -q)'{--quiet,-q}'[Print only the summary (and errors).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_dossier_open() {
    local -i ret=1
    local -ar arg_specs=(
        ':file:'
        '*'{-i,--identity}'[An identity file (repeatable).]:file:'
        '(--output -o)'{--output,-o}'[The folder to create (- with --only\: standard output).]:folder:'
        '--purpose[Why the dossier is opened (recorded in the access log before anything is decrypted).]:purpose:'
        '--only[Open only this document (its path inside the dossier).]:path:'
        '--allow-untrusted[Open even if signers are not trusted (integrity is still required).]'
        '--trust[Trust file\: one "ROLES PUBLIC-KEY NAME" line per trusted key (default\: $DOSSIER_TRUST).]:file:'
        '*--require-role[A role that needs a valid trusted signature (repeatable; default\: sealer).]:role:'
        '--passphrase-fd[Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.]:fd:'
        '--log[The access log (SQLite ledger). Default\: $DOSSIER_LOG, else ~/.local/share/dossier/access-log.sqlite.]:file:'
        '--as[Who acts, as ROLE=KEYFILE or KEYFILE (signs the log entry). Default\: $DOSSIER_ACTOR.]:role=keyfile:'
        '--json[Print the result as JSON.]'
        '(--quiet -q)'{--quiet,-q}'[Print nothing but errors.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_dossier_list() {
    local -i ret=1
    local -ar arg_specs=(
        ':file:'
        '*'{-i,--identity}'[An identity file (repeatable).]:file:'
        '--purpose[Why the dossier is listed (recorded in the access log before anything is decrypted).]:purpose:'
        '--allow-untrusted[List even if signers are not trusted (integrity is still required).]'
        '--trust[Trust file\: one "ROLES PUBLIC-KEY NAME" line per trusted key (default\: $DOSSIER_TRUST).]:file:'
        '*--require-role[A role that needs a valid trusted signature (repeatable; default\: sealer).]:role:'
        '--passphrase-fd[Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.]:fd:'
        '--log[The access log (SQLite ledger). Default\: $DOSSIER_LOG, else ~/.local/share/dossier/access-log.sqlite.]:file:'
        '--as[Who acts, as ROLE=KEYFILE or KEYFILE (signs the log entry). Default\: $DOSSIER_ACTOR.]:role=keyfile:'
        '--json[Print the result as JSON (with every document'\''s SHA-256 and time).]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_dossier_inspect() {
    local -i ret=1
    local -ar arg_specs=(
        ':file:'
        '--json[Print as JSON.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_dossier_log() {
    local -i ret=1
    local -ar arg_specs=(
        ':target:'
        '--verify[Verify the chain, signatures, anchor and checkpoints.]'
        '--export[Write the log as JSON Lines to this file (- for standard output).]:file:'
        '--verify-export[Verify an exported log offline.]:file:'
        '--import[Import an exported log into this ledger.]:file:'
        '*--checkpoint[A checkpoint (signed note) to check the ledger against (repeatable).]:file:'
        '--record[Record an event\: loaned, returned, verified, destroyed, registered (needs --as and --purpose).]:event:'
        '--purpose[Why (with --record).]:purpose:'
        '*--detail[A detail KEY=VALUE for --record, e.g. approver="Otto Officer" (repeatable).]:key=value:'
        '--trust[Trust file\: one "ROLES PUBLIC-KEY NAME" line per trusted key (default\: $DOSSIER_TRUST).]:file:'
        '--log[The access log (SQLite ledger). Default\: $DOSSIER_LOG, else ~/.local/share/dossier/access-log.sqlite.]:file:'
        '--as[Who acts, as ROLE=KEYFILE or KEYFILE (signs the log entry). Default\: $DOSSIER_ACTOR.]:role=keyfile:'
        '--passphrase-fd[Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.]:fd:'
        '--json[Print as JSON.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_dossier_checkpoint() {
    local -i ret=1
    local -ar arg_specs=(
        '--origin[The ledger'\''s name\: one word, e.g. justice-bureau.example.]:origin:'
        '--signer[The key that signs the checkpoint.]:keyfile:'
        '(--output -o)'{--output,-o}'[Also write the checkpoint to this file.]:file:'
        '--log[The access log (SQLite ledger). Default\: $DOSSIER_LOG, else ~/.local/share/dossier/access-log.sqlite.]:file:'
        '--passphrase-fd[Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.]:fd:'
        '--trust[Trust file\: one "ROLES PUBLIC-KEY NAME" line per trusted key (default\: $DOSSIER_TRUST).]:file:'
        '--json[Print as JSON.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_dossier_countersign() {
    local -i ret=1
    local -ar arg_specs=(
        ':file:'
        '--signer[ROLE=KEYFILE (default role countersigner).]:role=keyfile:'
        '--trust[Trust file\: one "ROLES PUBLIC-KEY NAME" line per trusted key (default\: $DOSSIER_TRUST).]:file:'
        '*--require-role[A role that needs a valid trusted signature (repeatable; default\: sealer).]:role:'
        '--allow-untrusted[Go ahead even if the signers are not trusted (integrity is still required).]'
        '--passphrase-fd[Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.]:fd:'
        '--log[The access log (SQLite ledger). Default\: $DOSSIER_LOG, else ~/.local/share/dossier/access-log.sqlite.]:file:'
        '--as[Who acts, as ROLE=KEYFILE or KEYFILE (signs the log entry). Default\: $DOSSIER_ACTOR.]:role=keyfile:'
        '(--quiet -q)'{--quiet,-q}'[Print nothing but errors.]'
        '--json[Print the verification of the result as JSON.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_dossier_rewrap() {
    local -i ret=1
    local -ar arg_specs=(
        ':file:'
        '*'{-i,--identity}'[An identity that can open the dossier now (repeatable).]:file:'
        '*'{-r,--recipient}'[A new recipient (repeatable).]:recipient:'
        '*'{-R,--recipients-file}'[A file of new recipients.]:file:'
        '--signer[transferrer=KEYFILE\: who signs the transfer record.]:role=keyfile:'
        '--reason[Why the dossier is transferred (recorded and signed).]:reason:'
        '--trust[Trust file\: one "ROLES PUBLIC-KEY NAME" line per trusted key (default\: $DOSSIER_TRUST).]:file:'
        '*--require-role[A role that needs a valid trusted signature (repeatable; default\: sealer).]:role:'
        '--allow-untrusted[Go ahead even if the signers are not trusted (integrity is still required).]'
        '--passphrase-fd[Read passphrases from this file descriptor, one per line (batch work). Otherwise DOSSIER_PASSPHRASE, otherwise the terminal without echo.]:fd:'
        '--log[The access log (SQLite ledger). Default\: $DOSSIER_LOG, else ~/.local/share/dossier/access-log.sqlite.]:file:'
        '--as[Who acts, as ROLE=KEYFILE or KEYFILE (signs the log entry). Default\: $DOSSIER_ACTOR.]:role=keyfile:'
        '(--quiet -q)'{--quiet,-q}'[Print nothing but errors.]'
        '--json[Print the verification of the result as JSON.]'
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_dossier_version() {
    local -i ret=1
    local -ar arg_specs=(
        '--version[Show the version.]'
        '(-h --help)'{-h,--help}'[Show help information.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

_dossier_help() {
    local -i ret=1
    local -ar arg_specs=(
        '*:subcommands:'
        '--version[Show the version.]'
    )
    _arguments -w -s -S : "${arg_specs[@]}" && ret=0

    return "${ret}"
}

if [[ "${funcstack[1]}" = _dossier ]]; then
    _dossier "${@}"
else
    compdef _dossier dossier
fi
