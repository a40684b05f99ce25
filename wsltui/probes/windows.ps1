# wsltui: the Windows side in one powershell.exe (record win.powershell).
# Sent as -EncodedCommand (base64 of UTF-16LE). Prints ONE JSON object, UTF-8, enums as integers,
# multi-valued fields joined with ",". Each section is guarded: a missing cmdlet (Hyper-V firewall
# on Windows 10) or a denied one puts its message under "errors" and the rest still prints.
# The shape is documented in README.md, section "Windows records". Windows PowerShell 5.1.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
# The console code page reg.exe and netsh.exe (started the same way, in parallel) write in: read it
# before switching this process to UTF-8; wsltui decodes their records with it (see interop.py).
# Without a console it is 0: then the system OEM code page, which new consoles start with.
$oem = $null
try { $oem = [Console]::OutputEncoding.CodePage } catch { }
if (-not $oem) {
  try { $oem = [int](Get-ItemProperty 'HKLM:\SYSTEM\CurrentControlSet\Control\Nls\CodePage').OEMCP } catch { }
}
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
$s = 'ActiveStore'
$wsl = '{40E0AC32-46A5-438A-A0B2-2B479E8F2E90}'
function J($v) { if ($null -eq $v) { $null } else { (@($v) | ForEach-Object { "$_" }) -join ',' } }
function I($v) { if ($null -eq $v) { $null } else { [int]$v } }
$errors = [ordered]@{}
# v 2: Hyper-V rules include the host rules Windows merged (VMCreatorId Any), with their source
# and enforcement; hvFirewallDisable and regKeys (below) were added.
$out = [ordered]@{ v = 2; build = $null; oemCodePage = $oem; userProfile = $env:USERPROFILE }

try {
  $cv = Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
  $out.build = "$($cv.CurrentBuild).$($cv.UBR)"
} catch { $errors.build = "$($_.Exception.Message)" }

try {
  $out.profiles = @(Get-NetFirewallProfile -PolicyStore $s | ForEach-Object { [ordered]@{
      name = "$($_.Name)"; enabled = (I $_.Enabled); inb = (I $_.DefaultInboundAction); outb = (I $_.DefaultOutboundAction)
      allowInboundRules = (I $_.AllowInboundRules); allowLocal = (I $_.AllowLocalFirewallRules)
      disabledIf = (J $_.DisabledInterfaceAliases) } })
} catch { $errors.profiles = "$($_.Exception.Message)" }

try {
  # Each filter cmdlet ONCE for the whole store, joined by InstanceID (per rule costs ~1 s each).
  $port = @{}; Get-NetFirewallPortFilter -PolicyStore $s | ForEach-Object { $port[$_.InstanceID] = $_ }
  $addr = @{}; Get-NetFirewallAddressFilter -PolicyStore $s | ForEach-Object { $addr[$_.InstanceID] = $_ }
  $app = @{}; Get-NetFirewallApplicationFilter -PolicyStore $s | ForEach-Object { $app[$_.InstanceID] = $_ }
  $svc = @{}; Get-NetFirewallServiceFilter -PolicyStore $s | ForEach-Object { $svc[$_.InstanceID] = $_ }
  $ifa = @{}; Get-NetFirewallInterfaceFilter -PolicyStore $s | ForEach-Object { $ifa[$_.InstanceID] = $_ }
  $ift = @{}; Get-NetFirewallInterfaceTypeFilter -PolicyStore $s | ForEach-Object { $ift[$_.InstanceID] = $_ }
  $out.rules = @(Get-NetFirewallRule -PolicyStore $s -TracePolicyStore | ForEach-Object {
      $id = $_.InstanceID; $p = $port[$id]; $a = $addr[$id]; $ap = $app[$id]; $sv = $svc[$id]; $f = $ifa[$id]; $t = $ift[$id]
      [ordered]@{
        id = $id; name = $_.DisplayName; group = $_.DisplayGroup
        enabled = (I $_.Enabled); dir = (I $_.Direction); action = (I $_.Action); profile = (I $_.Profile)
        edge = (I $_.EdgeTraversalPolicy); primary = (I $_.PrimaryStatus); enforce = (J $_.EnforcementStatus)
        src = $_.PolicyStoreSource; srcType = (I $_.PolicyStoreSourceType)
        proto = $(if ($p) { "$($p.Protocol)" } else { $null }); lport = $(if ($p) { J $p.LocalPort } else { $null })
        rport = $(if ($p) { J $p.RemotePort } else { $null }); icmp = $(if ($p) { J $p.IcmpType } else { $null })
        laddr = $(if ($a) { J $a.LocalAddress } else { $null }); raddr = $(if ($a) { J $a.RemoteAddress } else { $null })
        program = $(if ($ap) { "$($ap.Program)" } else { $null }); package = $(if ($ap) { "$($ap.Package)" } else { $null })
        service = $(if ($sv) { "$($sv.Service)" } else { $null })
        ifAlias = $(if ($f) { J $f.InterfaceAlias } else { $null }); ifType = $(if ($t) { "$($t.InterfaceType)" } else { $null })
      } })
} catch { $errors.rules = "$($_.Exception.Message)" }

try {
  # Interface GUIDs: the registry names interfaces by GUID (rule IF=, profile DisabledInterfaces).
  $out.adapters = @(Get-NetAdapter -IncludeHidden | ForEach-Object { [ordered]@{
      alias = $_.Name; ifIndex = (I $_.InterfaceIndex); guid = "$($_.InterfaceGuid)"; type = (I $_.InterfaceType)
      desc = $_.InterfaceDescription } })
} catch { $errors.adapters = "$($_.Exception.Message)" }

try {
  $out.conn = @(Get-NetConnectionProfile | ForEach-Object { [ordered]@{
      alias = $_.InterfaceAlias; ifIndex = (I $_.InterfaceIndex); category = (I $_.NetworkCategory) } })
} catch { $errors.conn = "$($_.Exception.Message)" }

# WSL treats the Hyper-V firewall as unsupported (not attached in NAT) when this DWORD is 1
# (microsoft/WSL WslCoreFirewallSupport.cpp). $null: the value is not set.
try {
  $mps = 'HKLM:\SYSTEM\CurrentControlSet\Services\MpsSvc\Parameters'
  $out.hvFirewallDisable = $null
  $out.hvFirewallDisable = I (Get-ItemProperty $mps).HyperVFirewallDisable
} catch [System.Management.Automation.ItemNotFoundException] { $out.hvFirewallDisable = $null
} catch { $errors.hvFirewallDisable = "$($_.Exception.Message)" }

# Whether the keys reg.exe reads exist: reg.exe exits 1 both for a missing key and for a denied
# one, in words of the Windows language; the exception type here tells them apart in any language.
function K($path) {
  try { $null = Get-Item $path; $true }
  catch [System.Management.Automation.ItemNotFoundException] { $false }
  catch { "$($_.Exception.GetType().Name): $($_.Exception.Message)" }
}
$out.regKeys = [ordered]@{ gpoFirewall = (K 'HKLM:\SOFTWARE\Policies\Microsoft\WindowsFirewall')
                           portProxy = (K 'HKLM:\SYSTEM\CurrentControlSet\Services\PortProxy') }

# Hyper-V firewall: absent on Windows 10, maybe denied to a standard user.
$hv = [ordered]@{ available = $false; setting = $null; profiles = @(); rules = @() }
try {
  if (Get-Command Get-NetFirewallHyperVVMSetting -ErrorAction SilentlyContinue) {
    $hv.available = $true
    $v = Get-NetFirewallHyperVVMSetting -PolicyStore $s -Name $wsl
    $hv.setting = [ordered]@{ enabled = (I $v.Enabled); inb = (I $v.DefaultInboundAction); outb = (I $v.DefaultOutboundAction)
                              loopback = (I $v.LoopbackEnabled); hostMerge = (I $v.AllowHostPolicyMerge) }
    try {
      $hv.profiles = @(Get-NetFirewallHyperVProfile -PolicyStore $s | Where-Object { "$($_.VMCreatorId)" -eq $wsl } | ForEach-Object { [ordered]@{
          name = "$($_.Profile)"; enabled = (I $_.Enabled); inb = (I $_.DefaultInboundAction); outb = (I $_.DefaultOutboundAction)
          loopback = (I $_.LoopbackEnabled); hostMerge = (I $_.AllowHostPolicyMerge); allowLocal = (I $_.AllowLocalFirewallRules) } })
    } catch { $errors.hypervProfiles = "$($_.Exception.Message)" }
    # ActiveStore holds Windows' own merge: WSL's rules, rules for every creator, and the host
    # rules merged in (VMCreatorId Any, PolicyStoreSourceType HostFirewall*; microsoft/WSL#10569).
    $hv.rules = @(Get-NetFirewallHyperVRule -PolicyStore $s | Where-Object {
        @($wsl, '{00000000-0000-0000-0000-000000000000}', 'Any', '') -contains "$($_.VMCreatorId)" } | ForEach-Object { [ordered]@{
        id = $_.Name; name = $_.DisplayName; enabled = (I $_.Enabled); dir = (I $_.Direction); action = (I $_.Action)
        proto = "$($_.Protocol)"; lport = (J $_.LocalPorts); rport = (J $_.RemotePorts)
        laddr = (J $_.LocalAddresses); raddr = (J $_.RemoteAddresses); profile = (I $_.Profiles); priority = (I $_.RulePriority)
        creator = "$($_.VMCreatorId)"; enforce = (J $_.EnforcementStatus); srcType = "$($_.PolicyStoreSourceType)" } })
  } else { $errors.hyperv = 'Get-NetFirewallHyperVVMSetting is not available (Windows 10 or an older Windows 11)' }
} catch { $errors.hyperv = "$($_.Exception.Message)" }
$out.hyperv = $hv

try {
  # Path: program rules name a path; it is $null for processes a standard user may not open.
  $names = @{}; $paths = @{}; Get-Process | ForEach-Object { $names[[int]$_.Id] = $_.ProcessName; $paths[[int]$_.Id] = $_.Path }
  $out.listeners = @(Get-NetTCPConnection -State Listen | ForEach-Object { [ordered]@{
      addr = "$($_.LocalAddress)"; port = [int]$_.LocalPort; pid = [int]$_.OwningProcess; process = $names[[int]$_.OwningProcess]
      path = $paths[[int]$_.OwningProcess] } })
} catch { $errors.listeners = "$($_.Exception.Message)" }

try {
  $ip = Get-Service -Name iphlpsvc
  $out.iphlpsvc = [ordered]@{ status = [int]$ip.Status; startType = [int]$ip.StartType }
} catch { $errors.iphlpsvc = "$($_.Exception.Message)" }

try {
  # portproxy's live connections: for a connectaddress given as a host name, the address iphlpsvc
  # resolved it to when it started (it never resolves again; Resolve-DnsName shows the new one).
  $ipPid = (Get-CimInstance Win32_Service -Filter "Name='iphlpsvc'").ProcessId
  $out.iphlpsvcConns = @(if ($ipPid) { Get-NetTCPConnection -State Established -OwningProcess $ipPid -ErrorAction SilentlyContinue |
      ForEach-Object { [ordered]@{ lport = [int]$_.LocalPort; raddr = "$($_.RemoteAddress)"; rport = [int]$_.RemotePort } } })
} catch { $errors.iphlpsvcConns = "$($_.Exception.Message)" }

try {
  # Third-party firewalls registered with Windows Security Center (no such namespace on Windows Server).
  $out.firewallProducts = @(Get-CimInstance -Namespace root/SecurityCenter2 -ClassName FirewallProduct |
      ForEach-Object { "$($_.displayName)" })
} catch { $errors.firewallProducts = "$($_.Exception.Message)" }

$out.errors = $errors
ConvertTo-Json -InputObject $out -Depth 6 -Compress
