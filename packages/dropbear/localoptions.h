/* hvnode dropbear options (overrides dropbear's default_options.h).
 * The node accepts public-key logins for root only; no passwords, no PAM, no forwarding,
 * no agent, no X11, no sftp. Host keys live under /run/hvnode/ssh (copied to the HVNODE
 * config partition by the start script when there is one). */
#define DROPBEAR_SVR_PASSWORD_AUTH 0
#define DROPBEAR_SVR_PAM_AUTH 0
#define DROPBEAR_SVR_PUBKEY_AUTH 1
#define DROPBEAR_SVR_PUBKEY_OPTIONS 1
#define DROPBEAR_CLI_PASSWORD_AUTH 0
#define DROPBEAR_X11FWD 0
#define DROPBEAR_SVR_AGENTFWD 0
#define DROPBEAR_CLI_AGENTFWD 0
#define DROPBEAR_SVR_LOCALTCPFWD 0
#define DROPBEAR_SVR_REMOTETCPFWD 0
#define DROPBEAR_CLI_LOCALTCPFWD 0
#define DROPBEAR_CLI_REMOTETCPFWD 0
#define DROPBEAR_DSS 0
#define DROPBEAR_RSA 1
#define DROPBEAR_ECDSA 1
#define DROPBEAR_ED25519 1
#define DROPBEAR_SHA1_HMAC 0
#define DROPBEAR_SHA1_96_HMAC 0
#define DROPBEAR_ENABLE_CBC_MODE 0
#define DROPBEAR_DH_GROUP14_SHA1 0
#define DO_MOTD 0
#define SFTPSERVER_PATH "/nonexistent"
#define DEFAULT_PATH "/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_ROOT_PATH "/usr/sbin:/usr/bin:/sbin:/bin"
#define RSA_PRIV_FILENAME "/run/hvnode/ssh/dropbear_rsa_host_key"
#define ECDSA_PRIV_FILENAME "/run/hvnode/ssh/dropbear_ecdsa_host_key"
#define ED25519_PRIV_FILENAME "/run/hvnode/ssh/dropbear_ed25519_host_key"
#define DSS_PRIV_FILENAME "/run/hvnode/ssh/dropbear_dss_host_key"
